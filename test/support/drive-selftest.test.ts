// Self-test of the loopback Google Drive v3 server (drive-server.mjs), driven by the real
// @googleapis/drive 22 client with real google-auth-library 10 credentials. Nothing may leave 127.0.0.1:
// every client gets rootUrl / oauth2TokenUrl on the loopback server, and DNS lookups and outgoing
// connections are watched for the whole file.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.GCE_METADATA_HOST = '127.0.0.1:1';

import dns from 'node:dns';
import net from 'node:net';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drive as makeDrive, type drive_v3 } from '@googleapis/drive';
import { OAuth2Client } from 'google-auth-library';
// @ts-expect-error plain JS test support
import { startDriveServer, SCOPES, FOLDER, SHORTCUT, NATIVE, EXPORT_LIMIT, MIN_CHUNK } from './drive-server.mjs';

// ---- no request leaves loopback ---------------------------------------------------------------------
const lookedUp: string[] = [];
const connectedTo: string[] = [];
const origLookup = dns.lookup;
const refuse = (host: string) => Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (blocked by the selftest)`), { code: 'ENOTFOUND', hostname: host });
// Host names are refused before any resolver sees them; IP literals pass.
(dns as any).lookup = function (host: string, ...rest: any[]) {
  if (net.isIP(host)) return (origLookup as any).call(this, host, ...rest);
  lookedUp.push(host);
  const cb = rest[rest.length - 1];
  process.nextTick(() => cb(refuse(host)));
  return {};
};
(dns.promises as any).lookup = async (host: string) => {
  lookedUp.push(host);
  throw refuse(host);
};
const origConnect = net.Socket.prototype.connect;
(net.Socket.prototype as any).connect = function (...args: any[]) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  const host = typeof o === 'object' && o !== null ? (o.host ?? (o.path ? 'unix' : 'localhost')) : typeof args[1] === 'string' ? args[1] : 'localhost';
  connectedTo.push(String(host));
  return (origConnect as any).apply(this, args);
};

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
/** A response header: gaxios 7 hands back a fetch Headers object, typed more loosely by googleapis-common. */
const hdr = (headers: unknown, name: string) => (headers as Headers).get(name);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** Signs a JWT-bearer assertion (RS256) the way a service account does (gtoken's claim set). */
function assertion(key: KeyObject, claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' }): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}
async function postToken(tokenUrl: string, form: Record<string, string>) {
  const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as any };
}

/** The Google error of a failed client call: status, first reason, message. */
async function failure(p: Promise<unknown>) {
  const e: any = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (x: unknown) => x,
  );
  let data = e.response?.data;
  if (data instanceof ArrayBuffer) data = JSON.parse(Buffer.from(data).toString('utf8'));
  if (typeof data === 'string') data = JSON.parse(data);
  return { status: e.status ?? e.response?.status, reason: data?.error?.errors?.[0]?.reason, message: data?.error?.message, data, headers: e.response?.headers };
}

function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [addr, hexPort] = (local ?? '').split(':');
      if (state === '0A' && parseInt(hexPort ?? '', 16) === port) found.push(addr ?? '');
    }
  }
  return found;
}

describe('loopback Google Drive server', () => {
  let server: any;
  let saKey: KeyObject;
  const SA = 'importer@project.iam.gserviceaccount.test';
  let drive: drive_v3.Drive;
  let auth: OAuth2Client;
  let saRefreshes = 0;
  /** Per-call options for media uploads: @googleapis/drive builds upload URLs from the call's rootUrl only. */
  const up = () => ({ rootUrl: server.url + '/' });

  const clientFor = (a: OAuth2Client) => makeDrive({ version: 'v3', auth: a, rootUrl: server.url + '/' });
  const tokenFor = async (claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const r = await postToken(server.tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: assertion(saKey, { iss: SA, scope: SCOPES.drive, aud: server.tokenUrl, iat: now, exp: now + 3600, ...claims }),
    });
    expect(r.status).toBe(200);
    return r.body.access_token as string;
  };
  const withToken = (token: string) => {
    const a = new OAuth2Client();
    a.setCredentials({ access_token: token });
    return clientFor(a);
  };
  const raw = (path: string, init: RequestInit = {}, token?: string) =>
    fetch(server.url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    server = await startDriveServer();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    saKey = pair.privateKey;
    server.addServiceAccount({ email: SA, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), keyId: 'key-1', subjects: ['alice@example.test'] });
    // The service-account credential: an OAuth2Client whose refreshHandler signs a JWT-bearer
    // assertion itself and posts it to the loopback token URL (google-auth-library's JWT client would
    // post to Google).
    auth = new OAuth2Client({ forceRefreshOnFailure: true });
    auth.refreshHandler = async () => {
      saRefreshes++;
      return { access_token: await tokenFor(), expiry_date: Date.now() + 3599_000 };
    };
    drive = clientFor(auth);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.runIf(process.platform === 'linux')('listens on 127.0.0.1 only', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(listeners(server.port)).toEqual(['0100007F']);
  });

  describe('auth', () => {
    it('issues tokens for a signed JWT-bearer assertion, with and without impersonation', async () => {
      const about = await drive.about.get({ fields: 'user(emailAddress,me)' });
      expect(about.data).toEqual({ user: { emailAddress: SA, me: true } });
      expect(saRefreshes).toBe(1);
      // A revoked access token: the 401 makes the client call refreshHandler again and repeat.
      server.revokeToken(auth.credentials.access_token);
      expect((await drive.about.get({ fields: 'user(me)' })).data).toEqual({ user: { me: true } });
      expect(saRefreshes).toBe(2);
      const alice = withToken(await tokenFor({ sub: 'alice@example.test' }));
      expect((await alice.about.get({ fields: 'user/emailAddress' })).data.user?.emailAddress).toBe('alice@example.test');
      const r = await postToken(server.tokenUrl, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: assertion(saKey, { iss: SA, scope: SCOPES.readonly, aud: server.tokenUrl, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }, { alg: 'RS256', typ: 'JWT', kid: 'key-1' }),
      });
      expect(r.status).toBe(200);
      expect(Object.keys(r.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(r.body.token_type).toBe('Bearer');
      // about needs fields, as on Google.
      expect(await failure(drive.about.get())).toMatchObject({ status: 400, reason: 'required' });
    });

    it('rejects bad assertions with invalid_grant (and friends)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const good = { iss: SA, scope: SCOPES.drive, aud: server.tokenUrl, iat: now, exp: now + 3600 };
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const cases: [string, string, number, string][] = [
        ['wrong key', assertion(other, good), 400, 'invalid_grant'],
        ['wrong aud', assertion(saKey, { ...good, aud: 'https://oauth2.googleapis.com/token' }), 400, 'invalid_grant'],
        ['expired', assertion(saKey, { ...good, iat: now - 7200, exp: now - 3600 }), 400, 'invalid_grant'],
        ['too long-lived', assertion(saKey, { ...good, exp: now + 7200 }), 400, 'invalid_grant'],
        ['unknown account', assertion(saKey, { ...good, iss: 'nobody@x.test' }), 400, 'invalid_grant'],
        ['wrong kid', assertion(saKey, good, { alg: 'RS256', typ: 'JWT', kid: 'key-2' }), 400, 'invalid_grant'],
        ['HS256', assertion(saKey, good, { alg: 'HS256', typ: 'JWT' }), 400, 'invalid_grant'],
        ['garbage', 'not.a.jwt', 400, 'invalid_grant'],
        ['no scope', assertion(saKey, { ...good, scope: undefined }), 400, 'invalid_scope'],
        ['sub not delegated', assertion(saKey, { ...good, sub: 'mallory@example.test' }), 401, 'unauthorized_client'],
      ];
      for (const [what, a, status, error] of cases) {
        const r = await postToken(server.tokenUrl, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: a });
        expect([what, r.status, r.body.error]).toEqual([what, status, error]);
      }
      expect((await postToken(server.tokenUrl, { grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
    });

    it('OAuth2Client refreshes through endpoints.oauth2TokenUrl, and again after the access token is revoked', async () => {
      server.addRefreshToken({ clientId: 'cid.apps.test', clientSecret: 's3cret', refreshToken: '1//refresh', scopes: [SCOPES.readonly], email: 'bob@example.test' });
      const a = new OAuth2Client({ clientId: 'cid.apps.test', clientSecret: 's3cret', endpoints: { oauth2TokenUrl: server.tokenUrl }, forceRefreshOnFailure: true });
      a.setCredentials({ refresh_token: '1//refresh' });
      const d = clientFor(a);
      const before = server.counts.token ?? 0;
      expect((await d.about.get({ fields: 'user(emailAddress)' })).data.user?.emailAddress).toBe('bob@example.test');
      expect(server.counts.token - before).toBe(1);
      const first = a.credentials.access_token;
      expect(first).toMatch(/^ya29\./);
      expect(a.credentials.expiry_date).toBeGreaterThan(Date.now());
      server.revokeToken(first);
      // 401 -> the client refreshes by itself and repeats the call.
      expect((await d.about.get({ fields: 'user(emailAddress)' })).data.user?.emailAddress).toBe('bob@example.test');
      expect(server.counts.token - before).toBe(2);
      expect(a.credentials.access_token).not.toBe(first);
      // Without forceRefreshOnFailure, a token with an expiry_date is not refreshed on a 401.
      const plain = new OAuth2Client({ clientId: 'cid.apps.test', clientSecret: 's3cret', endpoints: { oauth2TokenUrl: server.tokenUrl } });
      plain.setCredentials({ refresh_token: '1//refresh' });
      await clientFor(plain).about.get({ fields: 'user' });
      server.revokeToken(plain.credentials.access_token);
      expect(await failure(clientFor(plain).about.get({ fields: 'user' }))).toMatchObject({ status: 401, reason: 'authError' });
      // A read-only token cannot write.
      expect(await failure(d.files.create({ requestBody: { name: 'x', mimeType: FOLDER } }))).toMatchObject({ status: 403, reason: 'insufficientPermissions' });

      const wrong = new OAuth2Client({ clientId: 'cid.apps.test', clientSecret: 'nope', endpoints: { oauth2TokenUrl: server.tokenUrl } });
      wrong.setCredentials({ refresh_token: '1//refresh' });
      const e = await failure(clientFor(wrong).about.get({ fields: 'user' }));
      expect(e.status).toBe(401);
      expect(e.data).toMatchObject({ error: 'invalid_client' });
      server.revokeRefreshToken('1//refresh');
      const gone = new OAuth2Client({ clientId: 'cid.apps.test', clientSecret: 's3cret', endpoints: { oauth2TokenUrl: server.tokenUrl } });
      gone.setCredentials({ refresh_token: '1//refresh' });
      expect((await failure(clientFor(gone).about.get({ fields: 'user' }))).data).toMatchObject({ error: 'invalid_grant' });
    });

    it('answers 401 without or with a bad token and 403 for a missing scope', async () => {
      let r = await raw('/drive/v3/files');
      expect(r.status).toBe(401);
      expect(((await r.json()) as any).error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'required', domain: 'global' }] });
      expect(await failure(withToken('ya29.bogus').files.list({}, { retry: false }))).toMatchObject({ status: 401, reason: 'authError' });
      const id = server.addFile({ name: 'scoped.bin', data: 'abc' });
      const metaOnly = withToken(server.issueToken([SCOPES.metadataReadonly]));
      expect((await metaOnly.files.get({ fileId: id, fields: 'size' })).data).toEqual({ size: '3' });
      expect(await failure(metaOnly.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 403, reason: 'insufficientPermissions' });
      const ro = withToken(server.issueToken([SCOPES.readonly]));
      expect(await failure(ro.files.delete({ fileId: id }))).toMatchObject({ status: 403, reason: 'insufficientPermissions' });
      r = await raw('/drive/v3/files', {}, server.issueToken([SCOPES.readonly]));
      expect(r.status).toBe(200);
      // drive.file sees only what the app created.
      const df = withToken(server.issueToken([SCOPES.file]));
      expect(await failure(df.files.get({ fileId: id }))).toMatchObject({ status: 404, reason: 'notFound' });
      const mine = await df.files.create({ requestBody: { name: 'mine.txt' }, media: { mimeType: 'text/plain', body: 'mine' }, fields: 'id' }, up());
      expect((await df.files.list({ q: `name = 'mine.txt' or name = 'scoped.bin'`, fields: 'files(id)' })).data.files).toEqual([{ id: mine.data.id }]);
    });
  });

  describe('listing', () => {
    it('pages through a folder holding duplicate names, with only the requested fields', async () => {
      const dir = server.addFolder({ name: 'tree' });
      const sub = server.addFolder({ name: 'sub', parent: dir });
      server.addFile({ name: 'deep.txt', parent: sub, data: 'deep' });
      const ids = new Set<string>();
      for (let i = 0; i < 23; i++) ids.add(server.addFile({ name: `f${String(i % 20).padStart(2, '0')}.txt`, parent: dir, data: `n${i}`, mimeType: 'text/plain' }));
      ids.add(sub);
      const seen: drive_v3.Schema$File[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const r = await drive.files.list({ q: `'${dir}' in parents and trashed = false`, pageSize: 7, pageToken, orderBy: 'name', fields: 'nextPageToken, files(id,name,mimeType,size,md5Checksum,modifiedTime,createdTime,parents,headRevisionId)' });
        pages++;
        seen.push(...(r.data.files ?? []));
        pageToken = r.data.nextPageToken ?? undefined;
        expect(Object.keys(r.data).sort()).toEqual(pageToken ? ['files', 'nextPageToken'] : ['files']);
      } while (pageToken);
      expect(pages).toBe(4);
      expect(new Set(seen.map((f) => f.id))).toEqual(ids);
      expect(seen.length).toBe(24);
      expect(seen.map((f) => f.name)).toEqual([...seen.map((f) => f.name)].sort());
      expect(seen.filter((f) => f.name === 'f01.txt')).toHaveLength(2); // names repeat within a folder
      const one = seen.find((f) => f.name === 'f05.txt')!;
      expect(Object.keys(one).sort()).toEqual(['createdTime', 'headRevisionId', 'id', 'md5Checksum', 'mimeType', 'modifiedTime', 'name', 'parents', 'size']);
      expect(one).toMatchObject({ size: '2', md5Checksum: md5(Buffer.from('n5')), parents: [dir], mimeType: 'text/plain' });
      const folder = seen.find((f) => f.id === sub)!;
      expect(folder.size).toBeUndefined();
      expect(folder.mimeType).toBe(FOLDER);
      // Default fields, folder filter, mimeType != and the 'root' alias.
      const folders = await drive.files.list({ q: `'${dir}' in parents and mimeType = '${FOLDER}'` });
      expect(folders.data.files).toEqual([{ kind: 'drive#file', id: sub, name: 'sub', mimeType: FOLDER }]);
      const notFolders = await drive.files.list({ q: `'${dir}' in parents and mimeType != '${FOLDER}'`, pageSize: 1000, fields: 'files(id)' });
      expect(notFolders.data.files).toHaveLength(23);
      const atRoot = await drive.files.list({ q: `'root' in parents and name = 'tree'`, fields: 'files(id)' });
      expect(atRoot.data.files).toEqual([{ id: dir }]);
      // createdTime ordering descending.
      const byCreated = await drive.files.list({ q: `'${dir}' in parents`, orderBy: 'createdTime desc', pageSize: 3, fields: 'files(id)' });
      expect(byCreated.data.files?.map((f) => f.id)).toEqual([...ids].filter((x) => x !== sub).reverse().slice(0, 3));
    });

    it('matches names with escaped quotes and backslashes', async () => {
      const dir = server.addFolder({ name: 'quotes' });
      const tricky = "it's a \\ back'slash.txt";
      const id = server.addFile({ name: tricky, parent: dir, data: 'q' });
      server.addFile({ name: 'its a  backslash.txt', parent: dir, data: 'q' });
      const esc = tricky.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      const r = await drive.files.list({ q: `name = '${esc}' and '${dir}' in parents`, fields: 'files(id,name)' });
      expect(r.data.files).toEqual([{ id, name: tricky }]);
    });

    it('rejects bad q, fields, pageSize, orderBy, pageToken and unknown parameters with 400', async () => {
      const token = server.issueToken([SCOPES.drive]);
      const cases: [string, string][] = [
        ['q', `/drive/v3/files?q=${encodeURIComponent("name = 'unterminated")}`],
        ['q', `/drive/v3/files?q=${encodeURIComponent("fullText contains 'x'")}`],
        ['q', `/drive/v3/files?q=${encodeURIComponent("name = 'a' and")}`],
        ['fields', `/drive/v3/files?fields=${encodeURIComponent('files(id,bogus)')}`],
        ['fields', `/drive/v3/files?fields=${encodeURIComponent('files(id')}`],
        ['pageSize', '/drive/v3/files?pageSize=1001'],
        ['pageSize', '/drive/v3/files?pageSize=0'],
        ['orderBy', '/drive/v3/files?orderBy=size'],
        ['pageToken', '/drive/v3/files?pageToken=garbage'],
        ['supportsAllDrives', '/drive/v3/files?supportsAllDrives=yes'],
        ['frobnicate', '/drive/v3/files?frobnicate=1'],
      ];
      for (const [location, path] of cases) {
        const r = await raw(path, {}, token);
        const body = (await r.json()) as any;
        expect([path, r.status, body.error.status, body.error.errors[0].location]).toEqual([path, 400, 'INVALID_ARGUMENT', location]);
        expect(body.error.errors[0]).toMatchObject({ domain: 'global', message: body.error.message });
      }
      // A page token from another query is refused.
      const dir = server.addFolder({ name: 'tok' });
      for (let i = 0; i < 3; i++) server.addFile({ name: `t${i}`, parent: dir });
      const first = await drive.files.list({ q: `'${dir}' in parents`, pageSize: 1 });
      expect(await failure(drive.files.list({ q: `'${dir}' in parents and trashed = false`, pageSize: 1, pageToken: first.data.nextPageToken! }))).toMatchObject({ status: 400, reason: 'invalid' });
    });

    it('lists a shared drive with corpora=drive and refuses it without the all-drives flags', async () => {
      const sd = server.addSharedDrive({ name: 'Team' });
      const inner = server.addFolder({ name: 'docs', parent: sd });
      const a = server.addFile({ name: 'team.txt', parent: sd, data: 'team' });
      const b = server.addFile({ name: 'inner.txt', parent: inner, data: 'inner' });
      const all = await drive.files.list({ corpora: 'drive', driveId: sd, includeItemsFromAllDrives: true, supportsAllDrives: true, fields: 'files(id,driveId,parents)', pageSize: 2 });
      expect(all.data.files).toEqual([
        { id: inner, driveId: sd, parents: [sd] },
        { id: a, driveId: sd, parents: [sd] },
      ]);
      const top = await drive.files.list({ corpora: 'drive', driveId: sd, includeItemsFromAllDrives: true, supportsAllDrives: true, q: `'${inner}' in parents`, fields: 'files(id)' });
      expect(top.data.files).toEqual([{ id: b }]);
      // My Drive listings do not show shared-drive items.
      expect((await drive.files.list({ q: "name = 'team.txt'", fields: 'files(id)' })).data.files).toEqual([]);
      expect(await failure(drive.files.list({ corpora: 'drive', driveId: sd }))).toMatchObject({ status: 400 });
      expect(await failure(drive.files.list({ corpora: 'drive', driveId: sd, includeItemsFromAllDrives: true }))).toMatchObject({ status: 400 });
      expect(await failure(drive.files.get({ fileId: a }))).toMatchObject({ status: 404, reason: 'notFound' });
      expect((await drive.files.get({ fileId: a, supportsAllDrives: true, fields: 'name,driveId' })).data).toEqual({ name: 'team.txt', driveId: sd });
      const drives = await drive.drives.list({ fields: 'drives(id,name)' });
      expect(drives.data.drives).toContainEqual({ id: sd, name: 'Team' });
    });
  });

  describe('reading', () => {
    it('returns metadata with the requested fields, shortcuts included', async () => {
      const data = bytes(5000, 9);
      const id = server.addFile({ name: 'meta.tar.gz', data, mimeType: 'application/gzip' });
      const sc = server.addShortcut({ name: 'link', targetId: id });
      const r = await drive.files.get({ fileId: id, fields: 'id,name,mimeType,size,md5Checksum,modifiedTime,createdTime,parents,trashed,headRevisionId,fullFileExtension' });
      expect(r.data).toMatchObject({ id, name: 'meta.tar.gz', mimeType: 'application/gzip', size: '5000', md5Checksum: md5(data), parents: [server.rootId], trashed: false, fullFileExtension: 'tar.gz' });
      expect(r.data.headRevisionId).toMatch(/^0B/);
      expect(Date.parse(r.data.modifiedTime!)).toBeGreaterThan(0);
      expect((await drive.files.get({ fileId: id })).data).toEqual({ kind: 'drive#file', id, name: 'meta.tar.gz', mimeType: 'application/gzip' });
      expect((await drive.files.get({ fileId: sc, fields: 'mimeType,shortcutDetails' })).data).toEqual({ mimeType: SHORTCUT, shortcutDetails: { targetId: id, targetMimeType: 'application/gzip' } });
      expect((await drive.files.get({ fileId: 'root', fields: 'id,name' })).data).toEqual({ id: server.rootId, name: 'My Drive' });
      expect(await failure(drive.files.get({ fileId: 'missing' }))).toMatchObject({ status: 404, reason: 'notFound' });
    });

    it('downloads media whole and by range', async () => {
      const data = bytes(100_000, 1);
      const id = server.addFile({ name: 'range.bin', data });
      const whole = await drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer' });
      expect(Buffer.from(whole.data as ArrayBuffer).equals(data)).toBe(true);
      const part = await drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer', headers: { Range: 'bytes=1000-1999' } });
      expect(part.status).toBe(206);
      expect(hdr(part.headers, 'content-range')).toBe('bytes 1000-1999/100000');
      expect(Buffer.from(part.data as ArrayBuffer).equals(data.subarray(1000, 2000))).toBe(true);
      const tail = await drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer', headers: { Range: 'bytes=99990-' } });
      expect(hdr(tail.headers, 'content-range')).toBe('bytes 99990-99999/100000');
      expect(Buffer.from(tail.data as ArrayBuffer).equals(data.subarray(99990))).toBe(true);
      expect(await failure(drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer', headers: { Range: 'bytes=200000-' } }))).toMatchObject({ status: 416 });
      const folder = server.addFolder({ name: 'nodl' });
      expect(await failure(drive.files.get({ fileId: folder, alt: 'media' }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 403, reason: 'fileNotDownloadable' });
    });

    it('exports native files and refuses downloads, bad conversions and exports over 10 MB', async () => {
      const docx = bytes(3000, 2);
      const doc = server.addNative({ name: 'Plan', kind: 'document', exports: { [DOCX]: docx, 'text/plain': 'plain text', 'application/pdf': '%PDF-1.4' } });
      const sheet = server.addNative({ name: 'Budget', kind: 'spreadsheet', exports: { [XLSX]: 'xlsx-bytes' } });
      const slides = server.addNative({ name: 'Deck', kind: 'presentation', exports: { 'application/pdf': '%PDF-slides' } });
      const big = server.addNative({ name: 'Huge', kind: 'drawing', exports: { 'application/pdf': Buffer.alloc(EXPORT_LIMIT + 1) } });
      const got = await drive.files.export({ fileId: doc, mimeType: DOCX }, { responseType: 'arraybuffer' });
      expect(Buffer.from(got.data as ArrayBuffer).equals(docx)).toBe(true);
      expect(hdr(got.headers, 'content-type')).toBe(DOCX);
      expect(Buffer.from((await drive.files.export({ fileId: doc, mimeType: 'text/plain' }, { responseType: 'arraybuffer' })).data as ArrayBuffer).toString()).toBe('plain text');
      expect(Buffer.from((await drive.files.export({ fileId: sheet, mimeType: XLSX }, { responseType: 'arraybuffer' })).data as ArrayBuffer).toString()).toBe('xlsx-bytes');
      expect(Buffer.from((await drive.files.export({ fileId: slides, mimeType: 'application/pdf' }, { responseType: 'arraybuffer' })).data as ArrayBuffer).toString()).toBe('%PDF-slides');
      expect(await failure(drive.files.export({ fileId: big, mimeType: 'application/pdf' }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 403, reason: 'exportSizeLimitExceeded' });
      expect(await failure(drive.files.export({ fileId: sheet, mimeType: DOCX }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 400 });
      expect(await failure(drive.files.get({ fileId: doc, alt: 'media' }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 403, reason: 'fileNotDownloadable' });
      const plain = server.addFile({ name: 'x.bin', data: 'x' });
      expect(await failure(drive.files.export({ fileId: plain, mimeType: 'application/pdf' }, { responseType: 'arraybuffer' }))).toMatchObject({ status: 403, reason: 'fileNotExportable' });
      const meta = await drive.files.get({ fileId: doc, fields: 'mimeType,size,md5Checksum,exportLinks' });
      expect(meta.data.mimeType).toBe(NATIVE.document);
      expect(meta.data.size).toBeUndefined();
      expect(meta.data.md5Checksum).toBeUndefined();
      expect(Object.keys(meta.data.exportLinks!)).toContain(DOCX);
    });
  });

  describe('writing', () => {
    it('creates folders and uploads multipart byte-exact (stream and string bodies)', async () => {
      const folder = await drive.files.create({ requestBody: { name: 'up', mimeType: FOLDER }, fields: 'id,mimeType,parents' });
      expect(folder.data).toMatchObject({ mimeType: FOLDER, parents: [server.rootId] });
      const data = bytes(300_000, 5);
      const r = await drive.files.create({
        requestBody: { name: 'blob.bin', parents: [folder.data.id!] },
        media: { mimeType: 'application/x-test', body: Readable.from([data]) },
        fields: 'id,name,size,md5Checksum,mimeType,headRevisionId',
      }, up());
      expect(r.data).toMatchObject({ name: 'blob.bin', size: String(data.length), md5Checksum: md5(data), mimeType: 'application/x-test' });
      expect(server.file(r.data.id).data.equals(data)).toBe(true);
      expect(server.requests.at(-1).url).toContain('uploadType=multipart');
      const s = await drive.files.create({ requestBody: { name: 'note.txt', parents: [folder.data.id!], mimeType: 'text/plain' }, media: { body: 'héllo\r\n--not-a-boundary' }, fields: 'id,size' }, up());
      expect(server.file(s.data.id).data.toString()).toBe('héllo\r\n--not-a-boundary');
      // Same name twice: two files.
      const again = await drive.files.create({ requestBody: { name: 'note.txt', parents: [folder.data.id!] }, media: { body: 'second' }, fields: 'id' }, up());
      expect(again.data.id).not.toBe(s.data.id);
      expect(server.children(folder.data.id)).toHaveLength(3);
      // Malformed writes.
      expect(await failure(drive.files.create({ requestBody: { name: 'x', parents: ['nope'] } }))).toMatchObject({ status: 404, reason: 'notFound' });
      expect(await failure(drive.files.create({ requestBody: { name: 'x', size: '5' } as any }))).toMatchObject({ status: 403, reason: 'fieldNotWritable' });
      const token = server.issueToken([SCOPES.drive]);
      const bad = await raw('/upload/drive/v3/files?uploadType=multipart', { method: 'POST', headers: { 'content-type': 'multipart/related; boundary=xx' }, body: '--xx\r\ncontent-type: application/json\r\n\r\n{}\r\n--xx--' }, token);
      expect(bad.status).toBe(400);
      const badJson = await raw('/drive/v3/files', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }, token);
      expect(((await badJson.json()) as any).error).toMatchObject({ code: 400, errors: [{ reason: 'parseError' }] });
    });

    it('uploads resumably in chunks (308 until done) byte-exact', async () => {
      const data = bytes(MIN_CHUNK * 2 + 12345, 11);
      const start = await auth.request<unknown>({
        url: `${server.url}/upload/drive/v3/files?uploadType=resumable&fields=id,name,size,md5Checksum`,
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'video/mp4', 'x-upload-content-length': String(data.length) },
        data: { name: 'movie.mp4' },
      });
      const session = start.headers.get('location')!;
      expect(session).toMatch(new RegExp(`^${server.url}/upload/drive/v3/files\\?.*upload_id=`));
      const put = (body: Buffer, range: string) =>
        auth.request<any>({ url: session, method: 'PUT', headers: { 'content-range': range }, data: body, validateStatus: (s) => s === 308 || (s >= 200 && s < 300), retry: false });
      // A too-small non-final chunk is refused.
      expect(await failure(put(data.subarray(0, 1024), `bytes 0-1023/${data.length}`))).toMatchObject({ status: 400 });
      let r = await put(data.subarray(0, MIN_CHUNK), `bytes 0-${MIN_CHUNK - 1}/${data.length}`);
      expect(r.status).toBe(308);
      expect(r.headers.get('range')).toBe(`bytes=0-${MIN_CHUNK - 1}`);
      r = await put(Buffer.alloc(0), `bytes */${data.length}`); // status query
      expect([r.status, r.headers.get('range')]).toEqual([308, `bytes=0-${MIN_CHUNK - 1}`]);
      r = await put(data.subarray(MIN_CHUNK, 2 * MIN_CHUNK), `bytes ${MIN_CHUNK}-${2 * MIN_CHUNK - 1}/${data.length}`);
      expect(r.status).toBe(308);
      r = await put(data.subarray(2 * MIN_CHUNK), `bytes ${2 * MIN_CHUNK}-${data.length - 1}/${data.length}`);
      expect(r.status).toBe(200);
      expect(r.data).toEqual({ id: r.data.id, name: 'movie.mp4', size: String(data.length), md5Checksum: md5(data) });
      expect(server.file(r.data.id)).toMatchObject({ mimeType: 'video/mp4' });
      expect(server.file(r.data.id).data.equals(data)).toBe(true);
      expect(await failure(put(Buffer.alloc(0), `bytes */${data.length}`))).toMatchObject({ status: 404 });
    });

    it('updates content (media, multipart, resumable) and metadata, moving and renaming', async () => {
      const id = server.addFile({ name: 'v1.txt', data: 'one' });
      const before = server.file(id);
      await new Promise((r) => setTimeout(r, 5));
      const u = await drive.files.update({ fileId: id, media: { mimeType: 'text/plain', body: 'two!' }, fields: 'size,md5Checksum,headRevisionId,modifiedTime,version' }, up());
      expect(server.requests.at(-1).url).toContain('uploadType=media');
      expect(u.data).toMatchObject({ size: '4', md5Checksum: md5(Buffer.from('two!')) });
      expect(u.data.headRevisionId).not.toBe(before.headRevisionId);
      expect(Date.parse(u.data.modifiedTime!)).toBeGreaterThan(Date.parse(before.modifiedTime));
      expect(Number(u.data.version)).toBeGreaterThan(Number(before.version));
      const mp = await drive.files.update({ fileId: id, requestBody: { name: 'v3.txt' }, media: { mimeType: 'text/plain', body: 'three' }, fields: 'name,size' }, up());
      expect(mp.data).toEqual({ name: 'v3.txt', size: '5' });
      expect(server.file(id).data.toString()).toBe('three');
      const start = await auth.request({ url: `${server.url}/upload/drive/v3/files/${id}?uploadType=resumable&fields=size`, method: 'PATCH', headers: { 'content-type': 'application/json' }, data: {} });
      const done = await auth.request<any>({ url: start.headers.get('location')!, method: 'PUT', headers: { 'content-range': 'bytes 0-3/4' }, data: Buffer.from('four') });
      expect(done.data).toEqual({ size: '4' });
      const dest = server.addFolder({ name: 'dest' });
      const moved = await drive.files.update({ fileId: id, addParents: dest, removeParents: server.rootId, requestBody: { name: 'moved.txt' }, fields: 'name,parents' });
      expect(moved.data).toEqual({ name: 'moved.txt', parents: [dest] });
      expect(await failure(drive.files.update({ fileId: id, requestBody: { parents: [dest] } }))).toMatchObject({ status: 403, reason: 'fieldNotWritable' });
      const doc = server.addNative({ name: 'doc', kind: 'document' });
      expect(await failure(drive.files.update({ fileId: doc, media: { body: 'x' } }, up()))).toMatchObject({ status: 400 });
    });

    it('trashes (filtered by trashed = false) and deletes', async () => {
      const dir = server.addFolder({ name: 'bin' });
      const keep = server.addFile({ name: 'keep', parent: dir });
      const t1 = server.addFile({ name: 'api-trash', parent: dir });
      const t2 = server.addFile({ name: 'helper-trash', parent: dir });
      const gone = server.addFile({ name: 'gone', parent: dir });
      await drive.files.update({ fileId: t1, requestBody: { trashed: true } });
      server.trash(t2);
      await drive.files.delete({ fileId: gone });
      expect(server.file(gone)).toBeUndefined();
      expect(await failure(drive.files.get({ fileId: gone }))).toMatchObject({ status: 404 });
      const live = await drive.files.list({ q: `'${dir}' in parents and trashed = false`, fields: 'files(id)' });
      expect(live.data.files).toEqual([{ id: keep }]);
      const everything = await drive.files.list({ q: `'${dir}' in parents`, fields: 'files(id,trashed)' });
      expect(everything.data.files).toEqual([
        { id: keep, trashed: false },
        { id: t1, trashed: true },
        { id: t2, trashed: true },
      ]);
      // Trashing a folder trashes what is inside it.
      server.trash(dir);
      expect((await drive.files.list({ q: `'${dir}' in parents and trashed = false`, fields: 'files(id)' })).data.files).toEqual([]);
    });
  });

  it('reports changes since a page token: added, modified, trashed, removed', async () => {
    const start = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    const a = server.addFile({ name: 'c-added', data: 'a' });
    const m = server.addFile({ name: 'c-mod', data: 'm' });
    const t = server.addFile({ name: 'c-trash', data: 't' });
    const r = server.addFile({ name: 'c-removed', data: 'r' });
    const changed = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    server.setContent(m, 'modified');
    await drive.files.update({ fileId: t, requestBody: { trashed: true } });
    await drive.files.delete({ fileId: r });
    const all: drive_v3.Schema$Change[] = [];
    let token = start;
    let pages = 0;
    let next: string | undefined;
    for (;;) {
      const res = await drive.changes.list({ pageToken: token, pageSize: 2, fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed,md5Checksum))' });
      pages++;
      all.push(...(res.data.changes ?? []));
      if (res.data.nextPageToken) token = res.data.nextPageToken;
      else {
        next = res.data.newStartPageToken!;
        break;
      }
    }
    expect(pages).toBe(2);
    expect(all).toEqual([
      { fileId: a, removed: false, file: { name: 'c-added', trashed: false, md5Checksum: md5(Buffer.from('a')) } },
      { fileId: m, removed: false, file: { name: 'c-mod', trashed: false, md5Checksum: md5(Buffer.from('modified')) } },
      { fileId: t, removed: false, file: { name: 'c-trash', trashed: true, md5Checksum: md5(Buffer.from('t')) } },
      { fileId: r, removed: true },
    ]);
    const since = await drive.changes.list({ pageToken: changed, fields: 'changes(fileId,removed)' });
    expect(since.data.changes).toEqual([
      { fileId: m, removed: false },
      { fileId: t, removed: false },
      { fileId: r, removed: true },
    ]);
    expect((await drive.changes.list({ pageToken: next!, fields: 'changes,newStartPageToken' })).data).toEqual({ changes: [], newStartPageToken: next });
    expect(await failure(drive.changes.list({ pageToken: '999999' }))).toMatchObject({ status: 400 });
    const sd = server.addSharedDrive({ name: 'Changes' });
    const sdStart = (await drive.changes.getStartPageToken({ driveId: sd, supportsAllDrives: true })).data.startPageToken!;
    const inSd = server.addFile({ name: 'sd-file', parent: sd });
    server.addFile({ name: 'mydrive-file' });
    const sdChanges = await drive.changes.list({ pageToken: sdStart, driveId: sd, supportsAllDrives: true, includeItemsFromAllDrives: true, fields: 'changes(fileId,driveId)' });
    expect(sdChanges.data.changes).toEqual([{ fileId: inSd, driveId: sd }]);
  });

  describe('faults', () => {
    it('answers 403 userRateLimitExceeded on the n-th matching request', async () => {
      const dir = server.addFolder({ name: 'faults' });
      // A plain access token: an OAuth2Client that can refresh treats any 403 as an auth failure (see below).
      const d = withToken(server.issueToken([SCOPES.drive]));
      const rule = server.addFault({ match: { op: 'files.list' }, nth: 2, action: { type: 'status', status: 403, reason: 'userRateLimitExceeded' } });
      await d.files.list({ q: `'${dir}' in parents` });
      const e = await failure(d.files.list({ q: `'${dir}' in parents` }, { retry: false }));
      expect(e).toMatchObject({ status: 403, reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded' });
      expect(e.data.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED', errors: [{ domain: 'usageLimits' }] });
      await d.files.list({ q: `'${dir}' in parents` });
      expect(rule.fired).toBe(1);
      // google-auth-library 10 with forceRefreshOnFailure (or a refresh token and no expiry) answers a 403
      // by fetching a new token and repeating the call once: the rate-limit error never reaches the caller.
      const before = saRefreshes;
      server.addFault({ match: { op: 'files.list' }, action: { type: 'status', status: 403, reason: 'userRateLimitExceeded' } });
      await drive.files.list({ q: `'${dir}' in parents` }, { retry: false });
      expect(saRefreshes).toBe(before + 1);
    });

    it('answers 429 with Retry-After, and the client retries 500s by itself', async () => {
      server.addFault({ match: { op: 'about' }, action: { type: 'status', status: 429, retryAfter: 7 } });
      const e = await failure(drive.about.get({ fields: 'user' }, { retry: false }));
      expect(e).toMatchObject({ status: 429, reason: 'rateLimitExceeded' });
      expect(e.headers.get('retry-after')).toBe('7');
      server.resetCounts();
      const rule = server.addFault({ match: { op: 'about' }, times: 2, action: { type: 'status', status: 500 } });
      const ok = await drive.about.get({ fields: 'user(me)' }, { retryConfig: { retryDelay: 1, retry: 3 } });
      expect(ok.data).toEqual({ user: { me: true } });
      expect(rule.fired).toBe(2);
      expect(server.counts.about).toBe(3);
      const f = server.addFault({ match: { op: 'about' }, action: { type: 'status', status: 500 } });
      expect(await failure(drive.about.get({ fields: 'user' }, { retry: false }))).toMatchObject({ status: 500, reason: 'backendError' });
      expect(f.fired).toBe(1);
    });

    it('cuts a media body after N bytes', async () => {
      const data = bytes(200_000, 4);
      const id = server.addFile({ name: 'cut.bin', data });
      server.addFault({ match: { op: 'files.media', fileId: id }, action: { type: 'cut', afterBytes: 5000 } });
      const res = await drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'stream', retry: false });
      expect(hdr(res.headers, 'content-length')).toBe(String(data.length));
      let received = 0;
      const read = (async () => {
        for await (const chunk of res.data as unknown as AsyncIterable<Buffer>) received += chunk.length;
      })();
      await expect(read).rejects.toThrow();
      expect(received).toBe(5000);
      // The next download is whole again.
      const again = await drive.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer' });
      expect(Buffer.from(again.data as ArrayBuffer).equals(data)).toBe(true);
      server.clearFaults();
    });
  });

  it('stop() frees the port; nothing looked up a host name or left 127.0.0.1', async () => {
    const extra = await startDriveServer();
    const r = await fetch(extra.url + '/drive/v3/files');
    expect(r.status).toBe(401);
    await extra.stop();
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: extra.port });
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(lookedUp).toEqual([]);
    expect(connectedTo.filter((h) => h !== '127.0.0.1')).toEqual([]);
    expect(connectedTo.length).toBeGreaterThan(0);
  });
});
