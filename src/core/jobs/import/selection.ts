import { asCloudportError, invalid } from '../../../shared/errors.js';
import { redact } from '../../../shared/redact.js';
import type { ObjectInfo, StorageProvider } from '../../../providers/types.js';
import type { FileState, ListedFile, Store } from '../../../store/types.js';
import { isFolderMarker, type KeyFilter } from '../../domain/filter.js';
import type { Selection } from '../../domain/nomatch.js';
import { withRetry, type RetryPolicy } from '../../domain/retry.js';

/** Which objects an import takes: its parameters, the listing filters, explicit keys and new_only. */

export interface JobParams {
  prefix: string;
  pattern: string | null;
  explicit: boolean;
  mode: 'all' | 'new_only';
  dedupe: boolean;
  exclude?: string[];
  min_size?: number;
  max_size?: number;
  modified_after?: string;
  retry_of?: string;
  /** The connector's export_base_path when it also exports: cloudport's own exports are not imported back. */
  skip_prefix?: string;
}

/** Storage classes whose bytes cannot be read until restored, and how: S3's Glacier tiers, Azure's Archive tier. */
const ARCHIVED_CLASSES = new Map([
  ['GLACIER', 'restore it (aws s3api restore-object)'],
  ['DEEP_ARCHIVE', 'restore it (aws s3api restore-object)'],
  ['Archive', 'rehydrate it to the Hot or Cool tier (az storage blob set-tier; up to 15 hours)'],
]);

/** Whether an object of this storage class must be restored before its bytes can be read (GCS's ARCHIVE class need not). */
export const needsRestore = (storageClass: string | undefined): boolean => storageClass !== undefined && ARCHIVED_CLASSES.has(storageClass);

/** The parts of a job's parameters that select objects from a listing. */
export function selectionOf(p: JobParams): Selection {
  return {
    prefix: p.prefix,
    pattern: p.pattern,
    ...(p.exclude ? { exclude: p.exclude } : {}),
    ...(p.min_size !== undefined ? { min_size: p.min_size } : {}),
    ...(p.max_size !== undefined ? { max_size: p.max_size } : {}),
    ...(p.modified_after ? { modified_after: p.modified_after } : {}),
  };
}

/** Explicit keys: one HEAD each (bounded concurrency) for size and version; missing keys fail at once. */
/** Files of statKeys whose key the bucket does not hold (not_found), apart from those refused. */
const MISSING = new WeakSet<ListedFile>();
export const isMissing = (f: ListedFile) => MISSING.has(f);

export async function statKeys(org: string, provider: StorageProvider, keys: string[], retry: RetryPolicy): Promise<ListedFile[]> {
  const unique = [...new Set(keys)];
  keys.forEach((k, i) => {
    if (!k) throw invalid(`keys[${i}]`, 'keys must not be empty strings');
  });
  const out: ListedFile[] = new Array(unique.length);
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const i = next++;
      const key = unique[i]!;
      try {
        const o = await withRetry(() => provider.stat(key), retry);
        // selectOne leaves out only folder markers: named by key, one is skipped saying why.
        out[i] = selectOne(o) ?? { key, size: 0, etag: null, version: null, status: 'skipped', error: 'a folder marker (a zero-byte key ending in "/"), not a file: never imported' };
      } catch (e) {
        const err = asCloudportError(e);
        if (err.kind !== 'not_found' && err.kind !== 'permission_denied') throw err;
        out[i] = { key, size: null, etag: null, version: null, status: 'failed', error: redact(err.message, org) };
        if (err.kind === 'not_found') MISSING.add(out[i]!);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, unique.length) }, worker));
  // A file is kept under the key stat() answers, the listing's (see StorageProvider.stat): two spellings
  // of one key ("50% off.txt", "50%25 off.txt" on google_drive) are one file of the job.
  const byKey = new Map<string, ListedFile>();
  for (const f of out) if (!byKey.has(f.key)) byKey.set(f.key, f);
  return [...byKey.values()];
}

/** A listed object as a file of the job: folder markers are left out, archived objects fail with the fix. */
export function selectOne(o: ObjectInfo): ListedFile | null {
  if (isFolderMarker(o.key, o.size)) return null;
  // GCS allows NUL in a name; no key in cloudport holds one (every tool refuses it, and PostgreSQL text
  // cannot store it). The file fails under its name with NUL written out as \u0000, so the job says which.
  if (o.key.includes('\0')) {
    return {
      key: o.key.replaceAll('\0', '\\u0000'),
      size: o.size,
      etag: o.etag,
      version: o.version,
      status: 'failed',
      error: 'the object\'s name holds a NUL character (U+0000, written here as \\u0000), which no key in cloudport may hold: rename the object in the bucket to import it',
    };
  }
  const f: ListedFile = { key: o.key, size: o.size, etag: o.etag, version: o.version };
  const restore = o.storage_class ? ARCHIVED_CLASSES.get(o.storage_class) : undefined;
  if (restore) {
    f.status = 'failed';
    f.error = `needs restore: the object is in ${o.storage_class}; ${restore} and import again`;
  }
  return f;
}

/** The objects of a listing page that the job's filters select. */
export function select(objects: ObjectInfo[], filter: KeyFilter, params: JobParams): ListedFile[] {
  const out: ListedFile[] = [];
  // Dates compare as instants: as text, "+010000-01-01…" (the year 10000) sorts before "2026-…".
  const after = params.modified_after ? Date.parse(params.modified_after) : null;
  for (const o of objects) {
    if (!filter.matches(o.key)) continue;
    // A Google file's size is unknown until it is exported (0 here): size filters cannot judge it, so it passes.
    if (params.min_size !== undefined && !o.exported && o.size < params.min_size) continue;
    if (params.max_size !== undefined && !o.exported && o.size > params.max_size) continue;
    if (after !== null && (!o.last_modified || !(Date.parse(o.last_modified) > after))) continue;
    const f = selectOne(o);
    if (f) out.push(f);
  }
  return out;
}

/** new_only: files this (connector, index) already imported with the same version are skipped without a GET. */
export async function applyMode(store: Store, files: ListedFile[], params: JobParams, org: string, connectorId: string, index: string): Promise<ListedFile[]> {
  if (params.mode !== 'new_only' || !files.length) return files;
  const seen = await store.seenVersions(org, connectorId, index, files.filter((f) => !f.status).map((f) => f.key));
  return files.map((f) => (!f.status && f.version && seen.get(f.key) === f.version ? { ...f, status: 'skipped' as FileState } : f));
}
