import { randomBytes } from 'node:crypto';
import type { CloudportError } from '../shared/errors.js';
import type { Check, CheckOptions, StorageProvider } from './types.js';

/**
 * The write check every provider runs the same way: write a probe object under the export base
 * path and delete it. `fixFor` turns a failure into the provider's own advice (which permission).
 */
export async function writeProbeCheck(
  provider: StorageProvider,
  opts: CheckOptions,
  fixFor: (err: CloudportError, step: 'write' | 'delete') => string | undefined,
): Promise<Check> {
  const probe = `${opts.exportBasePath}.cloudport-probe-${randomBytes(6).toString('hex')}`;
  try {
    await provider.write(probe, Buffer.from('cloudport write probe\n'), { contentType: 'text/plain' });
  } catch (e) {
    const err = e as CloudportError;
    // The probe's own path comes from export_base_path: a refusal of that path (field "key") points there.
    const field = err.field === 'key' ? 'export_base_path' : err.field;
    return { name: 'write', status: 'failed', detail: err.message, fix: fixFor(err, 'write') ?? err.fix, kind: err.kind, ...(field ? { field } : {}), ...(err.temporary ? { temporary: true } : {}) };
  }
  try {
    await provider.delete(probe);
    return { name: 'write', status: 'passed', detail: 'wrote and deleted a probe object' };
  } catch (e) {
    const err = e as CloudportError;
    return { name: 'write', status: 'failed', detail: `wrote a probe object but could not delete it (${JSON.stringify(probe)})`, fix: fixFor(err, 'delete'), kind: err.kind, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) };
  }
}

/** The write check when it does not run: skipped with a reason, or left out when export is not in scope. */
export function writeSkipped(opts: CheckOptions): Check[] {
  return opts.writeSkippedReason ? [{ name: 'write', status: 'skipped', detail: opts.writeSkippedReason }] : [];
}
