import { invalid } from '../../shared/errors.js';

/** An index name: letters, digits, ".", "_", "-", starting with a letter or digit, at most 100 characters. */
const INDEX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkIndexName(index: string): string {
  if (!INDEX_NAME.test(index)) {
    throw invalid('index', `index name ${JSON.stringify(index)} is not valid`, '1-100 characters: letters, digits, ".", "_", "-", starting with a letter or digit.');
  }
  return index;
}
