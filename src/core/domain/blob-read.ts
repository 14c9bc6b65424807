import { CloudportError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';

/**
 * Why an item's stored content could not be read: gone from the blob store (its own fault: import it
 * again, or a process of the deployment writing to another blob store), or the blob store failing
 * (its error, naming it, temporary where it is: an outage is no reason to import again).
 */
export function blobReadError(e: unknown, key: string, operatorLog?: Logger): CloudportError {
  const missing = (e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e instanceof CloudportError && e.message.includes('(no such blob)'));
  if (missing) {
    return new CloudportError('unexpected', `the stored content of ${JSON.stringify(key)} is missing from the blob store`, {
      fix: 'Import the item again. If the processes of this deployment were started with different --blob-store (or --data-dir without one), give them all the same blob store first.',
    });
  }
  if (e instanceof CloudportError) {
    if (!operatorLog) return e;
    // Tenants do not see where the operator keeps content (a bucket, its rights): the log does.
    operatorLog.error('blob store read failed', { error: e.message, kind: e.kind });
    return new CloudportError('unexpected', `the server's content store could not read the stored content of ${JSON.stringify(key)}${e.temporary ? ' (a passing fault: try again shortly)' : ' (the server\'s operator has the details in its log)'}`, { temporary: !!e.temporary });
  }
  // A file system error: its code, not its message (which holds the data directory's path).
  return new CloudportError('unexpected', `the blob store could not read the stored content of ${JSON.stringify(key)} (${(e as NodeJS.ErrnoException)?.code ?? 'error'})`, { temporary: true });
}
