import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CompleteRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import type { App } from './core/app.js';
import { decodeCursor, encodeCursor } from './core/domain/cursor.js';
import { CloudportError, asCloudportError } from './shared/errors.js';
import { onRequest, rpcError } from './requests.js';
import { VIEWS, views } from './views.js';
import { blobReadError } from './core/domain/blob-read.js';
import { binaryType, GENERIC_TYPE } from './core/search/extract/binary-type.js';

/**
 * MCP resources: one registry of URI schemes, each a provider that lists, reads and completes its own
 * URIs. Items of the indexes are the first (cloudport://indexes/{index}/items/{+key}), so an IDE client
 * can attach an imported file to a conversation; the MCP App views (views.ts) are the second.
 * Everything is scoped to the caller's organization.
 */
export interface ResourceProvider {
  /** The URI template of the provider's resources (none for a fixed set, such as the views). */
  template?: ResourceTemplate;
  /** A page of resources; `cursor` is this provider's own. */
  list(app: App, org: string, cursor: string | undefined): Promise<{ resources: Resource[]; next?: string }>;
  /** Null when the URI is not this provider's. */
  read(app: App, org: string, uri: string): Promise<ReadResult | null>;
  complete(app: App, org: string, argument: string, value: string, context: Record<string, string>): Promise<string[]>;
}

type ReadResult = { contents: ({ uri: string; mimeType: string; text: string; _meta?: Record<string, unknown> } | { uri: string; mimeType: string; blob: string })[] };

const ITEMS = 'cloudport://indexes/';
/** Text and bytes one resources/read answers; longer items say where read_item goes on. */
const READ_LIMIT = 1024 * 1024;
const PAGE = 100;

/**
 * Keys keep their "/"; every other character outside the unreserved set is percent-encoded. A key with
 * a "." or ".." segment has its "/" encoded too: a client that normalizes the URI (WHATWG URL, which
 * also takes %2E%2E for "..") would otherwise resolve items/a/../b.txt to items/b.txt. (A key that is
 * only "." or ".." has no form such a client keeps.)
 */
export function itemUri(index: string, key: string): string {
  const parts = key.split('/');
  const path = parts.some((p) => p === '.' || p === '..') ? encodeURIComponent(key) : parts.map(encodeURIComponent).join('/');
  return `${ITEMS}${encodeURIComponent(index)}/items/${path}`;
}

/** Longest URI resources/read takes: an index name of 100 characters and a key of 4096, each of its UTF-16 units at most 9 characters encoded (3 bytes of UTF-8, %XX each). */
const MAX_URI = ITEMS.length + 3 * 100 + 7 + 9 * 4096;


function parseItemUri(uri: string): { index: string; key: string; raw: string } | null {
  if (!uri.startsWith(ITEMS)) return null;
  const m = /^([^/]+)\/items\/(.+)$/s.exec(uri.slice(ITEMS.length));
  if (!m) return null;
  try {
    const at = { index: decodeURIComponent(m[1]!), key: m[2]!.split('/').map(decodeURIComponent).join('/'), raw: m[2]! };
    // No index name or key holds a NUL (%00): no such resource, before any store sees it.
    return at.index.includes('\u0000') || at.key.includes('\u0000') ? null : at;
  } catch {
    return null;
  }
}

const items: ResourceProvider = {
  template: {
    uriTemplate: `${ITEMS}{index}/items/{+key}`,
    name: 'index-item',
    title: 'Imported item',
    description: 'An item of a local index: its text (documents: their extracted text), or its bytes for binary items.',
  },

  async list(app, org, cursor) {
    // Position: an index, and the last key listed in it (null: none yet); sealed and the organization's, as tools' cursors are.
    let pos: { i: string; k: string | null } | null;
    try {
      pos = decodeCursor<{ i: string; k: string | null }>(org, cursor, 'resources', { i: 'string', k: 'string?' });
    } catch {
      throw new SyntaxError('cursor');
    }
    const encode = (p: { i: string; k: string | null }) => encodeCursor(org, p, 'resources');
    const resources: Resource[] = [];
    if (!pos) {
      const first = (await app.store.listIndexes(org, { limit: 1 }))[0];
      if (!first) return { resources };
      pos = { i: first.name, k: null };
    }
    for (;;) {
      const room = PAGE - resources.length;
      const rows = await app.store.listItems(org, pos.i, { ...(pos.k !== null ? { after: pos.k } : {}), limit: room + 1 });
      for (const r of rows.slice(0, room)) resources.push({ uri: itemUri(pos.i, r.key), name: r.key, mimeType: r.content_type, size: r.size });
      if (rows.length > room) return { resources, next: encode({ i: pos.i, k: rows[room - 1]!.key }) };
      const after: string = pos.i;
      const nextName: string | undefined = (await app.store.listIndexes(org, { after, limit: 1 }))[0]?.name;
      if (nextName === undefined) return { resources };
      pos = { i: nextName, k: null };
      if (resources.length >= PAGE) return { resources, next: encode(pos) };
    }
  },

  async read(app, org, uri) {
    const at = parseItemUri(uri);
    if (!at) return null;
    let r: Awaited<ReturnType<typeof app.indexes.readItem>>;
    try {
      r = await app.indexes.readItem(org, at.index, at.key, 0, Math.min(READ_LIMIT, 256 * 1024));
    } catch (e) {
      // {+key} expanded as RFC 6570 says passes a key's own %XX through: a key holding "%2F" (Drive's
      // keys do) arrives as written. Taken as written when the decoded key names no item.
      const err = asCloudportError(e);
      if (err.kind !== 'not_found' || err.field !== 'key' || at.raw === at.key || !/%[0-9A-Fa-f]{2}/.test(at.raw)) throw e;
      at.key = at.raw;
      r = await app.indexes.readItem(org, at.index, at.key, 0, Math.min(READ_LIMIT, 256 * 1024));
    }
    if (r.text !== undefined) {
      let text = r.text;
      let next = r.next_offset;
      let note = r.note;
      let bytes = Buffer.byteLength(text);
      // The first window is read_item's largest; the rest of the text up to READ_LIMIT comes in more
      // windows, the last one only as long as what is left of it.
      while (next !== null && bytes < READ_LIMIT - 3) {
        const more = await app.indexes.readItem(org, at.index, at.key, next, Math.min(256 * 1024, READ_LIMIT - bytes));
        text += more.text ?? '';
        bytes += Buffer.byteLength(more.text ?? '');
        next = more.next_offset;
        note = more.note;
      }
      if (next !== null) text += `\n[the text goes on: read_item {"index": ${JSON.stringify(at.index)}, "key": ${JSON.stringify(at.key)}, "offset": ${next}}]`;
      // What read_item says at the end (a text cut at an extraction limit, how to get more) is said here too.
      else if (note) text += `\n[${note}]`;
      // Extracted text, or bytes read as text under a type that does not say so (application/octet-stream, S3's default): text/plain.
      const textual = r.text_bytes === undefined && /^text\/|[/+](json|xml|yaml|javascript)\b/.test(r.content_type);
      return { contents: [{ uri, mimeType: textual ? r.content_type : 'text/plain', text }] };
    }
    const item = await app.store.getItem(org, at.index, at.key);
    if (!item) throw new CloudportError('not_found', `item ${JSON.stringify(at.key)} not found (deleted a moment ago)`, { field: 'key' });
    if (item.size > READ_LIMIT) {
      return {
        contents: [{ uri, mimeType: 'text/plain', text: `${at.key}: ${r.note ?? 'binary content'}, ${r.size} bytes; larger than ${READ_LIMIT} bytes, the most a resource sends as a blob: start_export copies it to a bucket` }],
      };
    }
    const bytes = await app.blobs.read(item.sha256, 0, item.size).catch((e: unknown) => {
      throw blobReadError(e, at.key, app.config.policyRole === 'front' ? app.config.log : undefined);
    });
    // A type that says nothing (S3's default) gives way to the one the bytes say, so a client can show the blob.
    const mimeType = GENERIC_TYPE.test(item.content_type) ? ((await binaryType(bytes)) ?? item.content_type) : item.content_type;
    return { contents: [{ uri, mimeType, blob: bytes.toString('base64') }] };
  },

  async complete(app, org, argument, value, context) {
    if (argument === 'index') {
      // Only what can start an index name (letters, digits, then . _ -) reaches the store.
      if (value && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) return [];
      // From just below the typed value (names compare byte-wise on both stores): the names that start
      // with it come first, one more than a completion shows.
      const after = value ? `${value.slice(0, -1)}${String.fromCharCode(Math.max(0, value.charCodeAt(value.length - 1) - 1))}\uffff` : undefined;
      return (await app.store.listIndexes(org, { ...(after ? { after } : {}), limit: COMPLETIONS + 1 })).map((i) => i.name).filter((n) => n.startsWith(value));
    }
    if (argument === 'key' && context.index) {
      if (value.includes('\u0000') || context.index.includes('\u0000')) return [];
      // One more than a completion shows, so that hasMore tells the truth.
      return (await app.store.listItems(org, context.index, { prefix: value, limit: COMPLETIONS + 1 })).map((r) => r.key);
    }
    return [];
  },
};

export const ALL_PROVIDERS: ResourceProvider[] = [items, views];

/** Values in one completion (the MCP specification's maximum). */
const COMPLETIONS = 100;

/** Resources, templates, reads and completions on a server, for the caller's organization. */
export function registerResources(server: Server, app: App | Promise<App>, org: string, itemsReadable = true): void {
  // Items are what read_item reads: a server whose --toolsets leave read_item out lists and reads none.
  const RESOURCE_PROVIDERS = itemsReadable ? ALL_PROVIDERS : ALL_PROVIDERS.filter((p) => p !== items);
  onRequest(server, ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: RESOURCE_PROVIDERS.flatMap((p) => (p.template ? [p.template] : [])) }));

  onRequest(server, ListResourcesRequestSchema, async (req) => {
    // The cursor names its provider: "<n>:<the provider's cursor>".
    const c = req.params?.cursor;
    let n = 0;
    let inner: string | undefined;
    if (c) {
      const m = /^(\d+):(.*)$/s.exec(c);
      if (!m || !RESOURCE_PROVIDERS[Number(m[1])]) throw rpcError(ErrorCode.InvalidParams, 'cursor is not valid: pass nextCursor unchanged, or omit it to start over');
      n = Number(m[1]);
      inner = m[2] || undefined;
    }
    try {
      // A provider with nothing to list hands over to the next one in the same answer (no empty pages).
      for (;;) {
        const page = await RESOURCE_PROVIDERS[n]!.list(await app, org, inner);
        const next = page.next !== undefined ? `${n}:${page.next}` : n + 1 < RESOURCE_PROVIDERS.length ? `${n + 1}:` : undefined;
        if (page.resources.length || page.next !== undefined || !next) return { resources: page.resources, ...(next ? { nextCursor: next } : {}) };
        n++;
        inner = undefined;
      }
    } catch (e) {
      if (e instanceof SyntaxError) throw rpcError(ErrorCode.InvalidParams, 'cursor is not valid: pass nextCursor unchanged, or omit it to start over');
      throw e;
    }
  });

  onRequest(server, ReadResourceRequestSchema, async (req) => {
    const uri = req.params.uri;
    if (uri.length > MAX_URI) throw rpcError(ErrorCode.InvalidParams, `uri is ${uri.length} characters, longer than any item's (${MAX_URI}): keys are at most 4096 characters`, { uri: uri.slice(0, 300) });
    for (const p of RESOURCE_PROVIDERS) {
      try {
        const r = await p.read(await app, org, uri);
        if (r) return r;
      } catch (e) {
        const err = asCloudportError(e);
        // -32002: the spec's "resource not found".
        // -32602 only for what the caller sent; the server's own failures are -32603.
        const code = err.kind === 'not_found' ? -32002 : err.kind === 'unexpected' || err.temporary ? ErrorCode.InternalError : ErrorCode.InvalidParams;
        throw rpcError(code, `${err.message}${err.fix ? ` (${err.fix})` : ''}`, { uri: uri.slice(0, 300) });
      }
    }
    const shown = uri.slice(0, 300);
    if (uri.startsWith('ui://')) throw rpcError(-32002, `no resource ${shown}: the views are ${Object.values(VIEWS).map((v) => v.uri).join(' and ')}`, { uri: shown });
    // Refused as the tools are: the reason is the server's --toolsets, not the URI.
    if (!itemsReadable && uri.startsWith(ITEMS)) {
      throw rpcError(-32002, `item resources are not available: this server runs with --toolsets that leave out indexes (read_item); the URI is not the problem. Its operator adds indexes to --toolsets (CLOUDPORT_TOOLSETS) to serve them`, { uri: shown });
    }
    throw rpcError(-32002, `no resource ${shown}: item URIs look like ${ITEMS}{index}/items/{key}, the key percent-encoded except its / (% is %25)`, { uri: shown });
  });

  onRequest(server, CompleteRequestSchema, async (req) => {
    const ref = req.params.ref;
    const provider = ref.type === 'ref/resource' ? RESOURCE_PROVIDERS.find((p) => p.template?.uriTemplate === ref.uri) : undefined;
    if (!provider) return { completion: { values: [] } };
    const values = await provider.complete(await app, org, req.params.argument.name, req.params.argument.value, req.params.context?.arguments ?? {});
    // total only when every value is known (a provider returns at most one more than a completion shows).
    const more = values.length > COMPLETIONS;
    return { completion: { values: values.slice(0, COMPLETIONS), ...(more ? {} : { total: values.length }), hasMore: more } };
  });
}
