/**
 * The names and shapes the MCP layer advertises, as the core defines them: provider kinds and their
 * credential and bucket schemas, job and file states. Tools take them from here, never from the
 * providers or the store directly, so those layers can change behind the core.
 */
export { PROVIDER_NAMES, registeredProviders } from '../../providers/index.js';
export { secretKeyFile, secretValue } from '../../providers/fields.js';
export { BUCKET as S3_BUCKET } from '../../providers/s3/index.js';
export { FILE_STATES, JOB_STATES } from '../../store/types.js';
export { JOB_KINDS } from '../jobs/kinds.js';
