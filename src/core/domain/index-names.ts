import { CloudportError, invalid, notFound } from '../../shared/errors.js';
import type { Store } from '../../store/types.js';

/** An index name: letters, digits, ".", "_", "-", starting with a letter or digit, at most 100 characters. */
const INDEX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkIndexName(index: string): string {
  if (!INDEX_NAME.test(index)) {
    throw invalid('index', `index name ${JSON.stringify(index)} is not valid`, '1-100 characters: letters, digits, ".", "_", "-", starting with a letter or digit.');
  }
  return index;
}

/**
 * Checks that the organization has the index (a valid name first). Where it has none, an import may be
 * about to create it (an index exists from its first item): the error then says the index has no
 * items yet and which job to follow, as a temporary not_found, rather than "check the name".
 */
export async function requireIndex(store: Pick<Store, 'indexExists' | 'countActiveJobsForIndex'>, org: string, index: string, field: string, fix: string): Promise<void> {
  checkIndexName(index);
  if (await store.indexExists(org, index)) return;
  const active = await store.countActiveJobsForIndex(org, index);
  if (!active) throw notFound('index', index, field, fix);
  throw new CloudportError('not_found', `index ${JSON.stringify(index)} has no items yet: ${active} job(s) writing into it are queued or running`, {
    field,
    temporary: true,
    fix: `Wait for them: list_imports {index: ${JSON.stringify(index)}} finds them, import_status {job_id, wait_seconds: 30} follows one.`,
  });
}
