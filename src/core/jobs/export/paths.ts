import type { JobRow } from '../../../store/types.js';
import { invalid } from '../../../shared/errors.js';
import { pathProblem } from '../../domain/object-path.js';

/** Where an export writes each item: the path template, its placeholders and the checks that keep paths under export_base_path. */
export const OVERWRITE_MODES = ['never', 'if_changed', 'always'] as const;
export type OverwriteMode = (typeof OVERWRITE_MODES)[number];
export const DEFAULT_TEMPLATE = '{key}';
const PLACEHOLDERS = ['key', 'name', 'ext', 'index', 'sha256'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
/** Provider key limit (S3, GCS: 1024 bytes of UTF-8; Azure: 1024 characters). */
const MAX_PATH_BYTES = 1024;

export interface ExportParams {
  kind: 'export';
  prefix: string;
  explicit: boolean;
  template: string;
  overwrite: OverwriteMode;
  /** The connector's export_base_path when the job started (normalized: "" or ending in "/"). */
  base: string;
}
// ---- target paths ----

const FIELD = /\{([^{}]*)\}/g;

/**
 * Checks a path template: known placeholders only, one that names each file ({key}, {name} or
 * {sha256}), and literal parts that cannot make a path escape (rendered with safe values).
 */
export function checkTemplate(template: string): string {
  const used = new Set<string>();
  for (const m of template.matchAll(FIELD)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      throw invalid('path_template', `unknown placeholder {${m[1]}} in path_template`, `Use ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}.`);
    }
    used.add(m[1]!);
  }
  if (/[{}]/.test(template.replace(FIELD, ''))) {
    throw invalid('path_template', 'path_template has an unmatched "{" or "}"', `Close every placeholder, e.g. "{key}" or "{index}/{name}"; braces are for ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} only.`);
  }
  if (!used.has('key') && !used.has('name') && !used.has('sha256')) {
    throw invalid('path_template', 'path_template must contain {key}, {name} or {sha256}, so that items are named apart', 'E.g. "{key}", "{index}/{key}" or "{sha256}{ext}".');
  }
  const problem = pathProblem(render(template, { key: 'k', name: 'k', ext: '', index: 'i', sha256: '0'.repeat(64) }), { written: true });
  if (problem) throw invalid('path_template', `path_template would write outside export_base_path: ${problem}`, 'Use a relative template such as "{key}" or "{index}/{key}", without "..", "//" or a leading "/".');
  return template;
}

function render(template: string, v: Record<Placeholder, string>): string {
  return template.replace(FIELD, (_, p: Placeholder) => v[p]);
}

function varsFor(key: string, index: string, sha256: string): Record<Placeholder, string> {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return { key, name, ext: dot > 0 ? name.slice(dot) : '', index, sha256 };
}

/** The full object key for an item, or the reason it is refused. */
export function targetFor(p: Pick<ExportParams, 'base' | 'template'>, key: string, index: string, sha256: string): { path: string } | { error: string } {
  const rel = render(p.template, varsFor(key, index, sha256));
  const problem = pathProblem(rel);
  // Control characters are refused as unsafe names; the rest could leave export_base_path.
  if (problem) return { error: `refused: ${problem}${/control/.test(problem) ? ', which no store takes safely' : ', which would leave export_base_path'}` };
  const path = p.base + rel;
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return { error: `refused: the path is longer than ${MAX_PATH_BYTES} bytes` };
  return { path };
}

/** The target path of an export job's file (for status views); undefined for imports. */
export function exportPathOf(job: JobRow, key: string, sha256: string | null): string | undefined {
  if (job.kind !== 'export' || !sha256) return undefined;
  const t = targetFor(JSON.parse(job.params) as ExportParams, key, job.index_name, sha256);
  return 'path' in t ? t.path : undefined;
}
