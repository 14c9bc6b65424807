import type { ObjectInfo, StorageProvider } from '../../providers/types.js';
import type { ItemRow, Store } from '../../store/types.js';
import { CloudportError } from '../../shared/errors.js';
import { excludeMatcher, globMatcher, isFolderMarker, literalGroups } from './filter.js';
import { withRetry } from './retry.js';

/**
 * Why a selection matched nothing, with hints computed from one page of the listing: a prefix
 * repeated in the pattern (patterns match the key after the prefix, see filter.ts), a match that
 * only differs in case, a leading "/", what the prefix holds at all. A selection that matches
 * nothing is never answered as a silent success.
 */
export interface NoMatch {
  /** The input that selected nothing: prefix, pattern, a filter (exclude, min_size, …), index or connector_id. */
  field: string;
  message: string;
  hints: string[];
}

/** The start of every no-match reason (import_status `reason`, logs): lets the job's end tell it from a failure. */
export const NO_MATCH = 'no object matched';

export interface Selection {
  prefix: string;
  pattern: string | null;
  exclude?: string[];
  min_size?: number;
  max_size?: number;
  modified_after?: string;
}

/** Keys shown per hint, and the length a shown key is cut to: hints stay short enough for a job's reason. */
const SHOWN = 3;
const KEY_CHARS = 80;
const q = (s: string) => JSON.stringify(s.length > KEY_CHARS ? `${s.slice(0, KEY_CHARS - 1)}…` : s);
const some = (keys: string[], n = SHOWN) => keys.slice(0, n).map(q).join(', ') + (keys.length > n ? ', …' : '');
const plural = (n: number | string, one: string, many = `${one}s`) => `${n} ${String(n) === '1' ? one : many}`;

/** The whole reason as one line (the job's `reason`, an automation run's log). */
export const noMatchText = (m: NoMatch) => `${m.message}.${m.hints.length ? ` ${m.hints.join(' ')}` : ''}`;

/** The error start_import / start_export answer when the selection is empty. */
export function noMatchError(m: NoMatch): CloudportError {
  return new CloudportError('not_found', m.message, { field: m.field, fix: m.hints.join(' ') || undefined });
}

function describe(sel: Selection): string {
  const parts: string[] = [];
  if (sel.prefix) parts.push(`prefix ${q(sel.prefix)}`);
  if (sel.pattern) parts.push(`pattern ${q(sel.pattern)}`);
  if (sel.exclude?.length) parts.push(`exclude ${sel.exclude.map(q).join(', ')}`);
  if (sel.min_size !== undefined) parts.push(`min_size ${sel.min_size}`);
  if (sel.max_size !== undefined) parts.push(`max_size ${sel.max_size}`);
  if (sel.modified_after) parts.push(`modified_after ${sel.modified_after}`);
  return parts.length ? parts.join(', ') : 'the whole bucket';
}

/** Which of the non-glob filters left `objects` out, the one that left out most first. */
function filtersThatDropped(sel: Selection, objects: ObjectInfo[]): { field: string; count: number }[] {
  const rel = (k: string) => k.slice(sel.prefix.length);
  const excluded = excludeMatcher(sel.exclude);
  const tests: [string, (o: ObjectInfo) => boolean][] = [
    ['exclude', (o) => !!excluded && excluded(rel(o.key))],
    // A Google file's size is unknown until export: size filters pass it (see select()).
    ['min_size', (o) => sel.min_size !== undefined && !o.exported && o.size < sel.min_size],
    ['max_size', (o) => sel.max_size !== undefined && !o.exported && o.size > sel.max_size],
    ['modified_after', (o) => !!sel.modified_after && (!o.last_modified || !(Date.parse(o.last_modified) > Date.parse(sel.modified_after)))],
  ];
  return tests
    .map(([field, drops]) => ({ field, count: objects.filter(drops).length }))
    .filter((t) => t.count > 0)
    .sort((a, b) => b.count - a.count);
}

/**
 * Explains an empty selection of a bucket listing. Costs one listing page of the prefix (and one of
 * its parent level when the prefix holds nothing); a failing hint listing leaves the hints out.
 */
export async function explainNoMatch(provider: StorageProvider, sel: Selection, signal?: AbortSignal): Promise<NoMatch> {
  const message = `${NO_MATCH} ${describe(sel)}`;
  const hints: string[] = [];
  const { prefix, pattern } = sel;
  const list = (p: string, delimiter?: string) => withRetry(() => provider.list({ prefix: p, maxKeys: 1000, ...(delimiter ? { delimiter } : {}), ...(signal ? { signal } : {}) }));
  const objectsOf = (objects: ObjectInfo[]) => objects.filter((o) => !isFolderMarker(o.key, o.size));
  try {
    const page = await list(prefix);
    const objects = objectsOf(page.objects);
    const count = `${objects.length}${page.nextToken !== null ? '+' : ''}`;
    if (!objects.length) {
      if (!prefix) return { field: provider.emptyHint ? 'root_folder_id' : 'connector_id', message, hints: [provider.emptyHint ? `${provider.emptyHint()}.` : "The connector's bucket holds no objects."] };
      const trimmed = prefix.replace(/^\/+/, '');
      if (trimmed !== prefix) {
        const t = await list(trimmed);
        const under = objectsOf(t.objects);
        hints.push(
          `Keys do not start with "/": use prefix ${q(trimmed)}` +
            (under.length ? `, which holds ${plural(`${under.length}${t.nextToken !== null ? '+' : ''}`, 'object')}, e.g. ${some(under.map((o) => o.key))}.` : '.'),
        );
      }
      // What the level above the prefix holds: a prefix that only differs in case, or what is there instead.
      const parent = trimmed.slice(0, trimmed.lastIndexOf('/', trimmed.length - 2) + 1);
      const level = await list(parent, provider.capabilities.delimiter ? '/' : undefined);
      const names = [
        ...new Set([
          ...level.folders,
          ...objectsOf(level.objects).map((o) => {
            const rest = o.key.slice(parent.length);
            const slash = rest.indexOf('/');
            return slash >= 0 ? parent + rest.slice(0, slash + 1) : o.key;
          }),
        ]),
      ];
      const lower = trimmed.toLowerCase();
      const cased = names.filter((n) => n.toLowerCase().startsWith(lower) && !n.startsWith(trimmed));
      if (cased.length) hints.push(`Prefixes are case-sensitive: ${some(cased)} ${cased.length === 1 ? 'exists' : 'exist'}.`);
      else if (trimmed === prefix || !hints.length) {
        hints.push(names.length ? `Nothing starts with ${q(prefix)}; ${parent ? `under ${q(parent)}` : 'at the top of the bucket'} there are ${some(names, 5)}.` : parent ? `${q(parent)} holds nothing either.` : "The connector's bucket holds no objects.");
      }
      return { field: 'prefix', message, hints };
    }
    const rel = (k: string) => k.slice(prefix.length);
    let field = pattern ? 'pattern' : 'prefix';
    if (pattern) {
      const isMatch = globMatcher(literalGroups(pattern));
      const byPattern = objects.filter((o) => isMatch(rel(o.key)));
      if (byPattern.length) {
        const dropped = filtersThatDropped(sel, byPattern);
        if (dropped.length) {
          field = dropped[0]!.field;
          hints.push(`${plural(byPattern.length, 'object')} ${byPattern.length === 1 ? 'matches' : 'match'} the pattern, but ${dropped.map((d) => `${d.field} left out ${d.count}`).join(', ')}.`);
        }
      } else {
        if (prefix && pattern.startsWith(prefix)) {
          hints.push(`The pattern is matched against the key after the prefix, not the whole key: prefix ${q(prefix)} with pattern ${q(pattern)} looks for ${q(prefix + pattern)}; use pattern ${q(pattern.slice(prefix.length) || '**')}.`);
        } else if (prefix) {
          const whole = objects.filter((o) => isMatch(o.key));
          if (whole.length) hints.push(`The pattern is matched against the key after the prefix ${q(prefix)}, not the whole key: as whole keys ${some(whole.map((o) => o.key))} would match.`);
        }
        if (pattern.startsWith('/')) hints.push(`Keys do not start with "/": use pattern ${q(pattern.replace(/^\/+/, ''))}.`);
        const nocase = globMatcher(literalGroups(pattern), { nocase: true });
        const cased = objects.filter((o) => nocase(rel(o.key)));
        if (cased.length) hints.push(`Matching is case-sensitive: ${plural(cased.length, 'key')} ${cased.length === 1 ? 'matches' : 'match'} if case is ignored, e.g. ${some(cased.map((o) => o.key))}.`);
        if (pattern.includes('*') && !pattern.includes('**') && !pattern.startsWith('/')) {
          const deep = globMatcher(`**/${literalGroups(pattern)}`);
          const nested = objects.filter((o) => deep(rel(o.key)));
          if (nested.length) hints.push(`"*" does not cross "/": ${plural(nested.length, 'key')} in subfolders ${nested.length === 1 ? 'matches' : 'match'} pattern ${q(`**/${pattern}`)}, e.g. ${some(nested.map((o) => o.key))}.`);
        }
      }
    } else {
      const dropped = filtersThatDropped(sel, objects);
      if (dropped.length) {
        field = dropped[0]!.field;
        hints.push(`${dropped.map((d) => `${d.field} left out ${d.count}`).join(', ')}.`);
      }
    }
    hints.push(`${prefix ? `Prefix ${q(prefix)}` : "The connector's bucket"} holds ${plural(count, 'object')}, e.g. ${some(objects.map((o) => o.key))}.`);
    return { field, message, hints };
  } catch {
    return { field: pattern ? 'pattern' : 'prefix', message, hints };
  }
}

/** Explains an export whose prefix selected no item of the index. */
export async function explainNoItems(store: Store, org: string, index: string, prefix: string): Promise<NoMatch> {
  const all = await store.listItems(org, index, { limit: 1000 });
  if (!all.length) return { field: 'index', message: `index ${q(index)} holds no items`, hints: ['Import into it first (start_import), or export another index (list_indexes).'] };
  const message = `no item of index ${q(index)} has a key starting with ${q(prefix)}`;
  const hints: string[] = [];
  const keys = (rows: ItemRow[]) => rows.map((r) => r.key);
  const trimmed = prefix.replace(/^\/+/, '');
  if (trimmed !== prefix) {
    const t = await store.listItems(org, index, { prefix: trimmed, limit: 1000 });
    hints.push(`Keys do not start with "/": use prefix ${q(trimmed)}${t.length ? `, which holds ${plural(t.length === 1000 ? '1000+' : t.length, 'item')}, e.g. ${some(keys(t))}` : ''}.`);
  }
  const cased = all.filter((r) => r.key.toLowerCase().startsWith(trimmed.toLowerCase()) && !r.key.startsWith(trimmed));
  if (cased.length) hints.push(`Prefixes are case-sensitive: ${some(keys(cased))} ${cased.length === 1 ? 'starts' : 'start'} with it if case is ignored.`);
  hints.push(`Index ${q(index)} holds ${plural(all.length === 1000 ? '1000+' : all.length, 'item')}, e.g. ${some(keys(all))}.`);
  return { field: 'prefix', message, hints };
}
