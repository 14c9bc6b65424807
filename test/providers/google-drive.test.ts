import { createHash, generateKeyPairSync } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getProvider } from '../../src/providers/index.js';
import type { Check, ObjectInfo, ProviderContext, StorageProvider } from '../../src/providers/types.js';
import type { CloudportError } from '../../src/shared/errors.js';
// @ts-expect-error plain JS test support
import { startDriveServer, FOLDER, SCOPES } from '../support/drive-server.mjs';
import { listAllPages } from './paging.js';

/**
 * Drive-specific behaviour of the google_drive provider against the loopback Drive v3 server
 * (test/support/drive-server.mjs), driven by the real @googleapis/drive client. Nothing leaves
 * 127.0.0.1: host names are refused before any resolver sees them, and every connect is watched.
 */

// ---- guard: no DNS lookup of a name, no connection off loopback ----
const lookedUp: string[] = [];
const offLoopback: string[] = [];
const refuse = (host: string) => Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (blocked by the test)`), { code: 'ENOTFOUND', hostname: host });
/** The provider's lookup: IP literals only (names are recorded and refused, never resolved). */
const noDns: net.LookupFunction = (host, _opts, cb) => {
  lookedUp.push(host);
  process.nextTick(() => (cb as (e: Error) => void)(refuse(host)));
};
const origLookup = dns.lookup;
const origConnect = net.Socket.prototype.connect;
beforeAll(() => {
  (dns as any).lookup = function (host: string, ...rest: any[]) {
    if (net.isIP(host)) return (origLookup as any).call(this, host, ...rest);
    lookedUp.push(host);
    const cb = rest[rest.length - 1];
    process.nextTick(() => cb(refuse(host)));
    return {};
  };
  (net.Socket.prototype as any).connect = function (...args: any[]) {
    const o = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host = typeof o === 'object' && o !== null ? (o.path ? null : (o.host ?? 'localhost')) : typeof args[1] === 'string' ? args[1] : 'localhost';
    if (host !== null && !['127.0.0.1', 'localhost', '::1'].includes(host) && !(typeof o === 'object' && o?.lookup === noDns)) {
      offLoopback.push(String(host));
      process.nextTick(() => this.destroy(new Error(`test guard: connection to ${host} refused`)));
      return this;
    }
    return (origConnect as any).apply(this, args);
  };
});
afterAll(() => {
  (dns as any).lookup = origLookup;
  net.Socket.prototype.connect = origConnect;
  expect(offLoopback).toEqual([]);
  // Only names the provider's own lookup refused (the oauth test below); never a system lookup.
  expect(lookedUp.filter((h) => !h.endsWith('googleapis.com'))).toEqual([]);
});

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PDF = 'application/pdf';
const CTX: ProviderContext = { maxSockets: 8, connectTimeoutMs: 5000, lookup: noDns };
const def = getProvider('google_drive');
const md5b64 = (b: Buffer | string) => createHash('md5').update(b).digest('base64');

type Input = Record<string, unknown> & { credentials: Record<string, unknown> };
const opened: StorageProvider[] = [];
async function open(input: Input, ctx: ProviderContext = CTX): Promise<StorageProvider> {
  const p = await def.open(def.validateLocation({ ...input }), input.credentials as never, ctx);
  opened.push(p);
  return p;
}
async function readAll(p: StorageProvider, key: string): Promise<Buffer> {
  const r = await p.read(key);
  const chunks: Buffer[] = [];
  for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
async function failure(p: Promise<unknown>): Promise<CloudportError> {
  try {
    await p;
  } catch (e) {
    return e as CloudportError;
  }
  throw new Error('expected a failure');
}
async function listAll(p: StorageProvider, prefix = ''): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let token: string | null = null;
  do {
    const page: Awaited<ReturnType<StorageProvider['list']>> = await p.list({ prefix, token, maxKeys: 1000 });
    out.push(...page.objects);
    token = page.nextToken;
  } while (token);
  return out;
}
const keysOf = async (p: StorageProvider, prefix = '') => (await listAll(p, prefix)).map((o) => o.key);
const authCheck = (checks: Check[]) => checks.find((c) => c.name === 'auth')!;

/** A service account key (JSON text) whose token_uri is the server's; registered unless `register` is false. */
function serviceAccount(server: any, email: string, opts: { subjects?: true | string[]; register?: boolean } = {}): string {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (opts.register !== false) server.addServiceAccount({ email, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), keyId: 'k1', subjects: opts.subjects ?? true });
  return JSON.stringify({
    type: 'service_account',
    project_id: 'drive-test',
    private_key_id: 'k1',
    private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: email,
    client_id: '1',
    token_uri: server.tokenUrl,
  });
}

describe('google_drive provider against the loopback Drive server', () => {
  let server: any;
  let sa: string;
  let n = 0;
  /** A fresh root folder under My Drive for one test. */
  const newRoot = () => server.addFolder({ name: `t${++n}` }) as string;
  const input = (root: string, extra: Record<string, unknown> = {}): Input => ({
    provider: 'google_drive',
    root_folder_id: root,
    endpoint: server.url,
    credentials: { type: 'service_account', json: sa },
    ...extra,
  });
  const childrenNamed = (parent: string, name: string) => (server.children(parent) as string[]).map((id) => server.file(id)).filter((f: any) => f && f.name === name && !f.trashed);

  beforeAll(async () => {
    server = await startDriveServer();
    sa = serviceAccount(server, 'importer@drive-test.iam.gserviceaccount.com');
  });
  afterEach(() => {
    server.clearFaults();
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const p of opened) await p.close?.();
    await server?.stop();
  });

  it('duplicate names: the oldest keeps the plain key, later ones get "name (id).ext", and keys never move', async () => {
    const root = newRoot();
    // Created out of order: createdTime, not creation order, decides.
    const newer = server.addFile({ name: 'report.txt', parent: root, data: 'newer', createdTime: '2024-02-01T00:00:00.000Z' });
    const older = server.addFile({ name: 'report.txt', parent: root, data: 'older', createdTime: '2024-01-01T00:00:00.000Z' });
    const p = await open(input(root));
    expect((await keysOf(p)).sort()).toEqual(['report.txt', `report (${newer}).txt`].sort());
    expect((await readAll(p, 'report.txt')).toString()).toBe('older');
    expect((await readAll(p, `report (${newer}).txt`)).toString()).toBe('newer');

    const newest = server.addFile({ name: 'report.txt', parent: root, data: 'newest', createdTime: '2024-03-01T00:00:00.000Z' });
    expect((await keysOf(p)).sort()).toEqual(['report.txt', `report (${newer}).txt`, `report (${newest}).txt`].sort());
    expect((await readAll(p, 'report.txt')).toString()).toBe('older');
    expect((await readAll(p, `report (${newer}).txt`)).toString()).toBe('newer');
    expect((await readAll(p, `report (${newest}).txt`)).toString()).toBe('newest');
    expect(older).toBeTruthy();
  });

  it('"/" and "%" in names are percent-escaped in keys and read back', async () => {
    const root = newRoot();
    server.addFile({ name: 'a/b.txt', parent: root, data: 'slash' });
    server.addFile({ name: '100%.txt', parent: root, data: 'percent' });
    const p = await open(input(root));
    expect((await keysOf(p)).sort()).toEqual(['100%25.txt', 'a%2Fb.txt']);
    expect((await readAll(p, 'a%2Fb.txt')).toString()).toBe('slash');
    expect((await readAll(p, '100%25.txt')).toString()).toBe('percent');
  });

  it('Google Docs, Sheets, Slides and Drawings list with the export extension and read as the export; Forms are left out', async () => {
    const root = newRoot();
    server.addNative({ name: 'Plan', parent: root, kind: 'document', exports: { [DOCX]: 'docx-bytes' } });
    server.addNative({ name: 'Budget', parent: root, kind: 'spreadsheet', exports: { [XLSX]: 'xlsx-bytes' } });
    server.addNative({ name: 'Deck', parent: root, kind: 'presentation', exports: { [PDF]: 'slides-pdf' } });
    server.addNative({ name: 'Sketch', parent: root, kind: 'drawing', exports: { [PDF]: 'drawing-pdf' } });
    server.addFile({ name: 'Survey', parent: root, mimeType: 'application/vnd.google-apps.form' });
    const p = await open(input(root));
    const objects = await listAll(p);
    expect(objects.map((o) => o.key)).toEqual(['Budget.xlsx', 'Deck.pdf', 'Plan.docx', 'Sketch.pdf']);
    const doc = objects.find((o) => o.key === 'Plan.docx')!;
    expect(doc.exported).toBe(DOCX);
    expect(doc.size).toBe(0);
    expect(doc.version.startsWith('m:')).toBe(true);
    expect(objects.find((o) => o.key === 'Budget.xlsx')!.exported).toBe(XLSX);
    expect(objects.find((o) => o.key === 'Deck.pdf')!.exported).toBe(PDF);
    expect(objects.find((o) => o.key === 'Sketch.pdf')!.exported).toBe(PDF);
    expect((await readAll(p, 'Plan.docx')).toString()).toBe('docx-bytes');
    expect((await readAll(p, 'Budget.xlsx')).toString()).toBe('xlsx-bytes');
    expect((await readAll(p, 'Deck.pdf')).toString()).toBe('slides-pdf');
    expect((await readAll(p, 'Sketch.pdf')).toString()).toBe('drawing-pdf');
  });

  // Stream responses carry Google's error JSON in the message: the reason is still read.
  it('an export over Drive\'s export limit fails the read as unsupported (10 MB)', async () => {
    const small: any = await startDriveServer({ exportLimit: 100 });
    try {
      const key = serviceAccount(small, 'limits@drive-test.iam.gserviceaccount.com');
      const root = small.addFolder({ name: 'big' });
      small.addNative({ name: 'Huge', parent: root, kind: 'document', exports: { [DOCX]: Buffer.alloc(200, 1) } });
      const p = await open({ provider: 'google_drive', root_folder_id: root, endpoint: small.url, credentials: { type: 'service_account', json: key } });
      expect(await keysOf(p)).toEqual(['Huge.docx']);
      const err = await failure(readAll(p, 'Huge.docx'));
      expect(err.kind).toBe('unsupported');
      expect(err.message).toMatch(/10 MB/);
    } finally {
      await small.stop();
    }
  });

  it('a shortcut to a file lists under its own name with the target\'s bytes; a shortcut to a folder is walked once', async () => {
    const root = newRoot();
    const elsewhere = server.addFolder({ name: `elsewhere-${n}` });
    const target = server.addFile({ name: 'target.bin', parent: elsewhere, data: 'target bytes' });
    const shared = server.addFolder({ name: 'shared', parent: elsewhere });
    server.addFile({ name: 'x.txt', parent: shared, data: 'x' });
    server.addFile({ name: 'y.txt', parent: shared, data: 'y' });
    server.addShortcut({ name: 'link.bin', parent: root, targetId: target });
    server.addShortcut({ name: 'linked', parent: root, targetId: shared });
    const p = await open(input(root));
    const objects = await listAll(p);
    expect(objects.map((o) => o.key)).toEqual(['link.bin', 'linked/x.txt', 'linked/y.txt']);
    expect(objects[0]!.size).toBe('target bytes'.length);
    expect((await readAll(p, 'link.bin')).toString()).toBe('target bytes');
    expect((await readAll(p, 'linked/y.txt')).toString()).toBe('y');
  });

  it('a shortcut loop (folder A holds a shortcut to A) terminates, each file listed a bounded number of times', async () => {
    const root = newRoot();
    const a = server.addFolder({ name: 'A', parent: root });
    server.addFile({ name: 'f.txt', parent: a, data: 'f' });
    server.addShortcut({ name: 'loop', parent: a, targetId: a });
    const p = await open(input(root));
    const keys = await keysOf(p);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('A/f.txt');
    expect(keys.length).toBeLessThanOrEqual(2);
    expect(keys.every((k) => k.endsWith('f.txt'))).toBe(true);
  });

  // Below a shortcut no shortcut is followed again, however deep.
  it('a shortcut to an ancestor folder does not repeat the tree', async () => {
    const root = newRoot();
    const a = server.addFolder({ name: 'A', parent: root });
    server.addFile({ name: 'f.txt', parent: a, data: 'f' });
    server.addShortcut({ name: 'up', parent: a, targetId: root });
    const p = await open(input(root));
    const keys = await keysOf(p);
    expect(keys).toContain('A/f.txt');
    expect(keys.length).toBeLessThanOrEqual(2);
  });

  // A listing reached through a shortcut leaves shortcuts out, so listings are cached per walk mode.
  it('a folder\'s own shortcuts are listed however the walk reached it first (through a shortcut or not)', async () => {
    const root = newRoot();
    const b = server.addFolder({ name: 'B', parent: root });
    const elsewhere = server.addFolder({ name: `doc-home-${n}` });
    const doc = server.addFile({ name: 'doc.txt', parent: elsewhere, data: 'doc' });
    server.addShortcut({ name: 'doc-link.txt', parent: b, targetId: doc });
    // "A-link/" sorts before "B/": the walk meets folder B through the shortcut first.
    server.addShortcut({ name: 'A-link', parent: root, targetId: b });
    const p = await open(input(root));
    expect(await keysOf(p)).toContain('B/doc-link.txt');
  });

  it('trashed files and files in trashed folders are not listed', async () => {
    const root = newRoot();
    server.addFile({ name: 'keep.txt', parent: root, data: 'k' });
    server.trash(server.addFile({ name: 'gone.txt', parent: root, data: 'g' }));
    const bin = server.addFolder({ name: 'bin', parent: root });
    server.addFile({ name: 'inside.txt', parent: bin, data: 'i' });
    const deep = server.addFolder({ name: 'deep', parent: bin });
    server.addFile({ name: 'deeper.txt', parent: deep, data: 'd' });
    server.trash(bin);
    const p = await open(input(root));
    expect(await keysOf(p)).toEqual(['keep.txt']);
    expect((await failure(readAll(p, 'gone.txt'))).kind).toBe('not_found');
  });

  it('a connector with drive_id (no root_folder_id) lists the shared drive', async () => {
    const driveId = server.addSharedDrive({ name: 'Team' });
    server.addFile({ name: 'top.txt', parent: driveId, data: 'top' });
    const sub = server.addFolder({ name: 'sub', parent: driveId });
    server.addFile({ name: 'low.txt', parent: sub, data: 'low' });
    server.addFile({ name: 'not-in-drive.txt', data: 'my drive' });
    const p = await open({ provider: 'google_drive', drive_id: driveId, endpoint: server.url, credentials: { type: 'service_account', json: sa } });
    expect(await keysOf(p)).toEqual(['sub/low.txt', 'top.txt']);
    expect((await readAll(p, 'sub/low.txt')).toString()).toBe('low');
  });

  it('service account subject: a refused impersonation and an unknown account fail the auth check', async () => {
    const root = newRoot();
    const limited = serviceAccount(server, 'delegate@drive-test.iam.gserviceaccount.com', { subjects: ['allowed@example.test'] });
    const ok = await open(input(root, { credentials: { type: 'service_account', json: limited, subject: 'allowed@example.test' } }));
    expect(authCheck(await ok.check({ write: false, exportBasePath: '' })).status).toBe('passed');

    const denied = await open(input(root, { credentials: { type: 'service_account', json: limited, subject: 'boss@example.test' } }));
    const auth = authCheck(await denied.check({ write: false, exportBasePath: '' }));
    expect(auth).toMatchObject({ status: 'failed', kind: 'permission_denied', field: 'credentials.subject' });
    expect(auth.fix).toMatch(/domain-wide delegation/i);

    const unknown = serviceAccount(server, 'stranger@drive-test.iam.gserviceaccount.com', { register: false });
    const p = await open(input(root, { credentials: { type: 'service_account', json: unknown } }));
    expect(authCheck(await p.check({ write: false, exportBasePath: '' }))).toMatchObject({ status: 'failed', kind: 'permission_denied' });
  });

  it('scopes: list and read ask only for drive.readonly; a write asks for the full drive scope', async () => {
    const root = newRoot();
    server.addFile({ name: 'in.txt', parent: root, data: 'in' });
    // The token exchange is an http.request with a form body: record the JWT assertions posted.
    const scopes: string[] = [];
    const orig = http.request;
    vi.spyOn(http, 'request').mockImplementation(function (this: unknown, ...args: any[]) {
      const req = (orig as any).apply(http, args) as http.ClientRequest;
      const end = req.end.bind(req);
      (req as any).end = (data?: unknown, ...rest: any[]) => {
        const assertion = typeof data === 'string' ? new URLSearchParams(data).get('assertion') : null;
        if (assertion) scopes.push(JSON.parse(Buffer.from(assertion.split('.')[1]!, 'base64url').toString('utf8')).scope);
        return (end as any)(data, ...rest);
      };
      return req;
    } as any);
    const p = await open(input(root));
    expect(await keysOf(p)).toEqual(['in.txt']);
    expect((await readAll(p, 'in.txt')).toString()).toBe('in');
    expect(scopes.length).toBeGreaterThan(0);
    expect(new Set(scopes)).toEqual(new Set([SCOPES.readonly]));
    scopes.length = 0;
    await p.write('out.txt', Buffer.from('out'));
    expect(scopes).toContain(SCOPES.drive);
    expect(scopes.every((s) => s === SCOPES.drive || s === SCOPES.readonly)).toBe(true);
  });

  // The tool schema's oauth credentials post to Google's token URL; code that opens the provider may give token_uri.
  it('oauth credentials (client id, secret, refresh token) list and read; a revoked refresh token is refused', async () => {
    const root = newRoot();
    server.addFile({ name: 'o.txt', parent: root, data: 'oauth' });
    server.addRefreshToken({ clientId: 'client-1.apps.example.test', clientSecret: 'sekret', refreshToken: '1//refresh-ok', scopes: [SCOPES.readonly] });
    const creds = { type: 'oauth', client_id: 'client-1.apps.example.test', client_secret: 'sekret', refresh_token: '1//refresh-ok', token_uri: server.tokenUrl };
    const p = await open(input(root, { credentials: creds }));
    expect(await keysOf(p)).toEqual(['o.txt']);
    expect((await readAll(p, 'o.txt')).toString()).toBe('oauth');

    server.revokeRefreshToken('1//refresh-ok');
    const revoked = await open(input(root, { credentials: creds }));
    const err = await failure(revoked.list({ prefix: '' }));
    expect(err).toMatchObject({ kind: 'permission_denied', field: 'credentials.refresh_token' });
  });

  it('write creates the folders of the key, updates the same file on a second write, and ifAbsent conflicts', async () => {
    const root = newRoot();
    const p = await open(input(root));
    await p.write('exports/2026/q3/report.txt', Buffer.from('first'));
    const [exportsDir] = childrenNamed(root, 'exports');
    expect(exportsDir?.mimeType).toBe(FOLDER);
    const [y2026] = childrenNamed(exportsDir.id, '2026');
    const [q3] = childrenNamed(y2026.id, 'q3');
    expect([y2026.mimeType, q3.mimeType]).toEqual([FOLDER, FOLDER]);
    const files = childrenNamed(q3.id, 'report.txt');
    expect(files.length).toBe(1);
    expect(files[0].data.toString()).toBe('first');

    await p.write('exports/2026/q3/report.txt', Buffer.from('second, longer'));
    const again = childrenNamed(q3.id, 'report.txt');
    expect(again.map((f: any) => f.id)).toEqual([files[0].id]);
    expect(again[0].data.toString()).toBe('second, longer');
    expect((await readAll(p, 'exports/2026/q3/report.txt')).toString()).toBe('second, longer');

    const err = await failure(p.write('exports/2026/q3/report.txt', Buffer.from('third'), { ifAbsent: true }));
    expect(err.kind).toBe('conflict');
    expect(childrenNamed(q3.id, 'report.txt')[0].data.toString()).toBe('second, longer');
  });

  it('10 concurrent writes into one new folder path create one folder of each name', async () => {
    const root = newRoot();
    const p = await open(input(root));
    await Promise.all(Array.from({ length: 10 }, (_, i) => p.write(`batch/inner/f${i}.txt`, Buffer.from(`v${i}`))));
    const batch = childrenNamed(root, 'batch');
    expect(batch.length).toBe(1);
    const inner = childrenNamed(batch[0].id, 'inner');
    expect(inner.length).toBe(1);
    const names = (server.children(inner[0].id) as string[]).map((id) => server.file(id)?.name).sort();
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}.txt`).sort());
    expect(server.children(root).length).toBe(1);
  });

  it('a write whose md5 does not match the bytes fails and leaves no file', async () => {
    const root = newRoot();
    const p = await open(input(root));
    await expect(p.write('bad.txt', Buffer.from('these bytes'), { md5: md5b64('other bytes') })).rejects.toBeTruthy();
    expect(childrenNamed(root, 'bad.txt')).toEqual([]);
    await p.write('good.txt', Buffer.from('these bytes'), { md5: md5b64('these bytes') });
    expect(childrenNamed(root, 'good.txt').length).toBe(1);
  });

  it('a 403 userRateLimitExceeded on a listing is rate_limited and temporary', async () => {
    const root = newRoot();
    server.addFile({ name: 'r.txt', parent: root, data: 'r' });
    const p = await open(input(root));
    const rule = server.addFault({ match: { op: 'files.list' }, action: { type: 'status', status: 403, reason: 'userRateLimitExceeded' } });
    const err = await failure(p.list({ prefix: '' }));
    expect(rule.fired).toBe(1);
    expect(err).toMatchObject({ kind: 'rate_limited', temporary: true });
  });

  it('a 403 userRateLimitExceeded on a download is rate_limited and temporary', async () => {
    const root = newRoot();
    const id = server.addFile({ name: 'd.txt', parent: root, data: 'download' });
    const p = await open(input(root));
    expect(await keysOf(p)).toEqual(['d.txt']);
    server.addFault({ match: { op: 'files.media', fileId: id }, action: { type: 'status', status: 403, reason: 'userRateLimitExceeded' } });
    const err = await failure(readAll(p, 'd.txt'));
    expect(err).toMatchObject({ kind: 'rate_limited', temporary: true });
  });

  it('a plain-http endpoint that is not loopback is refused at open, before any lookup or request', async () => {
    const before = { lookups: lookedUp.length, requests: server.counts.total };
    const err = await failure(open(input(newRoot(), { endpoint: 'http://example.test/' })));
    expect(err).toMatchObject({ kind: 'config_invalid', field: 'endpoint' });
    expect(lookedUp.length).toBe(before.lookups);
    expect(server.counts.total).toBe(before.requests);
    expect(offLoopback).toEqual([]);
  });

  it('paging across nested folders: every key once, in order, and a page token works on a fresh provider', async () => {
    const root = newRoot();
    const expected: string[] = [];
    const add = (parent: string, prefix: string, names: string[]) => {
      for (const name of names) {
        server.addFile({ name, parent, data: prefix + name });
        expected.push(prefix + name);
      }
    };
    const b = server.addFolder({ name: 'b', parent: root });
    const c = server.addFolder({ name: 'c', parent: b });
    const d = server.addFolder({ name: 'd', parent: c });
    const z = server.addFolder({ name: 'z', parent: root });
    add(root, '', ['a1.txt', 'b.txt', 'b-c.txt', 'ba.txt', 'zz.txt']);
    add(b, 'b/', ['1.txt', '2.txt', 'c.txt', 'c0.txt', 'y.txt']);
    add(c, 'b/c/', ['m.txt', 'n.txt', 'o.txt', 'p.txt', 'q.txt']);
    add(d, 'b/c/d/', ['e1', 'e2', 'e3', 'e4', 'e5']);
    add(z, 'z/', ['0', '1', '2', '3', '4']);
    expected.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(expected.length).toBe(25);

    const inp = input(root);
    const p = await open(inp);
    const { seen, pages } = await listAllPages(p, '', 4);
    expect(seen).toEqual(expected);
    expect(pages).toBe(7);

    // Page 3's token, on a provider that never listed.
    const first = await p.list({ prefix: '', maxKeys: 4 });
    const second = await p.list({ prefix: '', maxKeys: 4, token: first.nextToken });
    const third = await p.list({ prefix: '', maxKeys: 4, token: second.nextToken });
    const fresh = await open(inp);
    const again = await fresh.list({ prefix: '', maxKeys: 4, token: second.nextToken });
    expect(again.objects.map((o) => o.key)).toEqual(third.objects.map((o) => o.key));
    expect(again.objects.map((o) => o.key)).toEqual(expected.slice(8, 12));
    const rest = [...again.objects.map((o) => o.key)];
    let token = again.nextToken;
    while (token) {
      const page = await fresh.list({ prefix: '', maxKeys: 4, token });
      rest.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
    }
    expect(rest).toEqual(expected.slice(8));
  });

  it('validateLocation: a folder URL as root_folder_id is refused with the bare id in the fix; bucket is refused', () => {
    const url = 'https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp_-Q?usp=sharing';
    let err: CloudportError | undefined;
    try {
      def.validateLocation({ provider: 'google_drive', root_folder_id: url });
    } catch (e) {
      err = e as CloudportError;
    }
    expect(err).toMatchObject({ kind: 'config_invalid', field: 'root_folder_id' });
    expect(err!.fix).toContain('"1AbCdEfGhIjKlMnOp_-Q"');

    expect(() => def.validateLocation({ provider: 'google_drive', bucket: 'my-bucket' })).toThrow(expect.objectContaining({ kind: 'config_invalid', field: 'bucket' }));
    expect(def.validateLocation({ provider: 'google_drive', root_folder_id: '1AbCdEfGhIjKlMnOp_-Q' })).toMatchObject({ root_folder_id: '1AbCdEfGhIjKlMnOp_-Q' });
  });

  it('every new listing reads its folders afresh: a file added to a subfolder after a walk shows in the next one (same provider)', async () => {
    const root = newRoot();
    const sub = server.addFolder({ name: 'in', parent: root });
    server.addFile({ name: 'a.txt', parent: sub, data: 'a' });
    const p = await open(input(root));
    expect(await keysOf(p)).toEqual(['in/a.txt']);
    server.addFile({ name: 'b.txt', parent: sub, data: 'b' });
    expect(await keysOf(p)).toEqual(['in/a.txt', 'in/b.txt']);
    expect(await keysOf(p, 'in/')).toEqual(['in/a.txt', 'in/b.txt']);
  });

  it('keys with a "%" that is no escape name the file literally: written twice, one file, and stat finds it', async () => {
    const root = newRoot();
    const p = await open(input(root));
    await p.write('deals/50% off.txt', Buffer.from('v1'));
    await p.write('deals/50% off.txt', Buffer.from('v2'));
    expect(await keysOf(p)).toEqual(['deals/50%25 off.txt']);
    expect((await p.stat('deals/50% off.txt')).size).toBe(2);
    expect((await readAll(p, 'deals/50%25 off.txt')).toString()).toBe('v2');
  });

  it('a continuation token resumes after the last key it gave, even when the folder changed; a forged one is refused', async () => {
    const root = newRoot();
    const ids = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((n) => [n, server.addFile({ name: `${n}.txt`, parent: root, data: n })]));
    const p = await open(input(root));
    const first = await p.list({ prefix: '', maxKeys: 2 });
    expect(first.objects.map((o) => o.key)).toEqual(['a.txt', 'b.txt']);
    server.trash(ids.a);
    const fresh = await open(input(root));
    const rest = await fresh.list({ prefix: '', maxKeys: 10, token: first.nextToken });
    expect(rest.objects.map((o) => o.key)).toEqual(['c.txt', 'd.txt', 'e.txt']);
    const outside = server.addFolder({ name: 'payroll' });
    server.addFile({ name: 'salaries.xlsx', parent: outside, data: 'x' });
    const forged = Buffer.from(JSON.stringify({ t: 0, s: [[outside, '', '', 0]] })).toString('base64url');
    expect(await failure(p.list({ prefix: '', token: forged }))).toMatchObject({ kind: 'conflict', field: 'cursor' });
  });

  it('walks the sub-folders of a folder reached through a shortcut, and never writes or deletes through a shortcut', async () => {
    const root = newRoot();
    const target = server.addFolder({ name: `target-${n}` });
    const inner = server.addFolder({ name: 'inner', parent: target });
    server.addFile({ name: 'deep.txt', parent: inner, data: 'deep' });
    server.addShortcut({ name: 'SC', parent: root, targetId: target });
    const p = await open(input(root));
    expect(await keysOf(p)).toEqual(['SC/inner/deep.txt']);
    expect(await failure(p.write('SC/inner/new.txt', Buffer.from('x')))).toMatchObject({ kind: 'conflict' });
    expect(await failure(p.delete('SC/inner/deep.txt'))).toMatchObject({ kind: 'conflict' });
    expect(server.file(server.children(inner)[0]).name).toBe('deep.txt');
  });
});
