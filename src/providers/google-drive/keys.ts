/**
 * Google Drive has folders and file ids, not keys: a file's key is the path of names from the
 * connector's root folder (`Reports/2026/q3.pdf`). Names are not unique in a folder, so where several
 * children of one folder would get one key, the oldest (createdTime, then id) keeps the plain name and
 * each other gets its id before the extension (`q3 (1a2B…).pdf`): a key does not change when a newer
 * duplicate appears. Names come from each listing alone (no memory of earlier ones), so an older file
 * that appears (restored from the trash, moved in) takes the plain name from the file that held it.
 * "/" and "%" in names are percent-escaped, so keys split on "/" and unescape exactly.
 * Native Google files are exported on import, and their keys carry the export's extension.
 */

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
export const SHORTCUT_MIME = 'application/vnd.google-apps.shortcut';

/** How each native Google type is exported on import: the format and the extension its key gets. */
export const NATIVE_EXPORTS: Readonly<Record<string, { mimeType: string; ext: string }>> = {
  'application/vnd.google-apps.document': { mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', ext: '.docx' },
  'application/vnd.google-apps.spreadsheet': { mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', ext: '.xlsx' },
  'application/vnd.google-apps.presentation': { mimeType: 'application/pdf', ext: '.pdf' },
  'application/vnd.google-apps.drawing': { mimeType: 'application/pdf', ext: '.pdf' },
};

export interface DriveChild {
  id: string;
  name: string;
  mimeType: string;
  createdTime: string;
}

/** A name as one segment of a key: "/" and "%" escaped (reversibly). */
export function escapeName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}

export function unescapeName(segment: string): string {
  return segment.replace(/%2F/g, '/').replace(/%25/g, '%');
}

/**
 * The name a key segment stands for. A segment that escapeName could have made (every "%" starts %25
 * or %2F) is unescaped; any other is taken literally, so "50% off.txt" names a file "50% off.txt".
 */
export function nameOfSegment(segment: string): string {
  const name = unescapeName(segment);
  return escapeName(name) === segment ? name : segment;
}

/** The segment under which a key segment's file lists ("50% off.txt" lists as "50%25 off.txt"). */
export const canonicalSegment = (segment: string): string => escapeName(nameOfSegment(segment));

/** The key under which a key's file lists: one file has one key, however its names were spelled. */
export const canonicalKey = (key: string): string => key.split('/').map(canonicalSegment).join('/');

/** The segment a child gets before duplicates are told apart: its escaped name, plus the export extension of a native file. */
function baseSegment(c: DriveChild): string {
  return escapeName(c.name) + (NATIVE_EXPORTS[c.mimeType]?.ext ?? '');
}

/** `name (id).ext`: the id goes before the last extension, so the key keeps its type. */
function withId(segment: string, id: string): string {
  const dot = segment.lastIndexOf('.');
  return dot > 0 ? `${segment.slice(0, dot)} (${id})${segment.slice(dot)}` : `${segment} (${id})`;
}

/**
 * The key segment of every child of one folder (folders and files alike: a folder's segment is the
 * prefix of its children's keys). The oldest child of a segment keeps it; the others get their ids.
 */
export function nameChildren(children: readonly DriveChild[]): Map<string, string> {
  const groups = new Map<string, DriveChild[]>();
  for (const c of children) {
    const seg = baseSegment(c);
    groups.set(seg, [...(groups.get(seg) ?? []), c]);
  }
  const out = new Map<string, string>();
  for (const [seg, group] of groups) {
    group.sort((a, b) => (a.createdTime === b.createdTime ? (a.id < b.id ? -1 : 1) : a.createdTime < b.createdTime ? -1 : 1));
    group.forEach((c, i) => out.set(c.id, i === 0 ? seg : withId(seg, c.id)));
  }
  // A renamed duplicate could collide with another child's plain name ("a (X).txt" named so by hand):
  // the plain name wins, and the child whose derived segment collides keeps its id twice over.
  const taken = new Set<string>();
  for (const c of children) if (out.get(c.id) === baseSegment(c)) taken.add(out.get(c.id)!);
  for (const c of children) {
    const seg = out.get(c.id)!;
    if (seg !== baseSegment(c) && taken.has(seg)) out.set(c.id, withId(seg, c.id));
  }
  return out;
}

/** The segments of a key, each the segment nameChildren gives one child of the folder above it. */
export function keySegments(key: string): string[] {
  return key.split('/');
}
