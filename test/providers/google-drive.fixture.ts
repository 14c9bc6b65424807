import { generateKeyPairSync } from 'node:crypto';
import type { FaultRule, ProviderFixture } from './fixture.js';
import { PROXY_OPS, googleFault, proxyParts } from './proxy-parts.js';
// @ts-expect-error plain JS test support
import { startDriveServer, FOLDER } from '../support/drive-server.mjs';
// @ts-expect-error plain JS test support
import { startProxy } from '../support/s3-proxy.mjs';

/** The fault proxy's answer for each fixture fault, the way Drive answers it. */
const driveFault = (a: FaultRule['action']) =>
  googleFault(a, {
    throttle: 'Rate Limit Exceeded',
    deny: ['insufficientFilePermissions', 'The user does not have sufficient permissions for this file.'],
    badCredentials: 'Request had invalid authentication credentials.',
  });

export interface DriveFixture extends ProviderFixture {
  server(): any;
  proxy(): any;
  /** A service account key registered with the server's token endpoint (JSON text). */
  serviceAccount(): string;
}

/**
 * Google Drive through our loopback Drive v3 server (test/support/drive-server.mjs) behind the fault
 * proxy, driven by the real @googleapis/drive client. A "bucket" is a folder under My Drive; keys are
 * paths of names below it (folders made as needed). The service account signs real RS256 assertions
 * that the server's token endpoint verifies; the API calls then go through the proxy.
 */
export function driveFixture(): DriveFixture {
  let drive: any;
  let proxy: any;
  let sa = '';
  /** Which key each file id stands for, so faults can match on keys (Drive URLs carry ids). */
  const keyOf = new Map<string, string>();
  const classify = (method: string, url: string) => {
    const u = new URL(url, 'http://x');
    const path = u.pathname;
    let m: RegExpExecArray | null;
    if (path === '/drive/v3/files' && method === 'GET') return { op: 'ListObjects', key: null, bucket: null };
    if ((m = /^\/drive\/v3\/files\/([^/]+)(\/export)?$/.exec(path))) {
      const key = keyOf.get(decodeURIComponent(m[1]!)) ?? null;
      if (method === 'DELETE') return { op: 'DeleteObject', key, bucket: null };
      if (method === 'PATCH') return { op: 'PutObject', key, bucket: null };
      if (method === 'GET') return { op: m[2] || u.searchParams.get('alt') === 'media' ? 'GetObject' : 'HeadObject', key, bucket: null };
    }
    if (path.startsWith('/upload/')) return { op: 'PutObject', key: null, bucket: null };
    return { op: 'other', key: null, bucket: null };
  };
  const folderIn = (parent: string, name: string): string => {
    for (const id of drive.children(parent) as string[]) {
      const f = drive.file(id);
      if (f && f.name === name && f.mimeType === FOLDER && !f.trashed) return id;
    }
    return drive.addFolder({ name, parent });
  };
  const unescape = (s: string) => s.replace(/%2F/gi, '/').replace(/%25/g, '%');
  return {
    provider: 'google_drive',
    maxPageSize: 1000,
    // Any name Drive stores, as keys name them: "/" and "%" in names are escaped (%2F, %25), and an
    // empty segment ("a//b") cannot name a folder, so it is left out.
    hostileKeys: [
      '../../etc/passwd',
      'a/../b.txt',
      './x/./y.txt',
      '100%25.txt',
      'slash%2Fin name.txt',
      'spaces in name .txt',
      ' leading-space.txt',
      'tab\tname.txt',
      'esc\u001b[31mred.txt',
      'bidi\u202egnp.exe',
      'cafe\u0301.txt',
      'café.txt',
      'quote"and\'apos?#&=+.txt',
      '日本語/ファイル.txt',
      'emoji-\u{1F600}.txt',
      'x/' + 'long'.repeat(200) + '.txt',
    ],
    async start() {
      drive = await startDriveServer();
      proxy = await startProxy({ upstream: drive.url, classify });
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      drive.addServiceAccount({ email: 'importer@contract-test.iam.gserviceaccount.com', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), keyId: 'k1', subjects: true });
      sa = JSON.stringify({
        type: 'service_account',
        project_id: 'contract-test',
        private_key_id: 'k1',
        private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: 'importer@contract-test.iam.gserviceaccount.com',
        client_id: '1',
        token_uri: drive.tokenUrl,
      });
    },
    async stop() {
      await proxy?.stop();
      await drive?.stop();
    },
    async createBucket() {
      return drive.addFolder({ name: `contract-${process.pid}-${Math.random().toString(36).slice(2, 8)}` });
    },
    missingBucket: () => '1NoSuchFolderAtAllXXXXXXXXXXXXXXXX',
    async put(bucket, key, body, contentType) {
      const segs = key.split('/').map(unescape);
      const name = segs.pop()!;
      let parent = bucket;
      for (const s of segs) parent = folderIn(parent, s);
      const existing = (drive.children(parent) as string[]).find((id) => drive.file(id)?.name === name && drive.file(id)?.mimeType !== FOLDER);
      if (existing) drive.setContent(existing, body);
      else keyOf.set(drive.addFile({ name, parent, data: body, ...(contentType ? { mimeType: contentType } : {}) }), key);
    },
    connectorInput: (bucket) => ({ provider: 'google_drive', root_folder_id: bucket, endpoint: proxy.url ?? proxy.endpoint, credentials: { type: 'service_account', json: sa } }),
    badCredentialsInput: (bucket) => ({
      provider: 'google_drive',
      root_folder_id: bucket,
      endpoint: proxy.url ?? proxy.endpoint,
      credentials: { type: 'service_account', json: sa.replace('importer@', 'revoked@') },
    }),
    addFault(rule) {
      proxy.addFault({ match: { op: PROXY_OPS[rule.op], keyIncludes: rule.keyIncludes }, times: rule.times ?? 1, action: driveFault(rule.action) });
    },
    ...proxyParts(() => proxy),
    async withoutPermission(bucket, permission) {
      // Drive refuses per file: a listing or a download answered 403 (the proxy stands in for the sharing settings).
      proxy.addFault({ match: { op: PROXY_OPS[permission === 'list' ? 'list' : 'get'] }, times: 100, action: driveFault({ type: 'deny' }) });
      return this.connectorInput(bucket);
    },
    permissionName: (p) => (p === 'list' ? 'Viewer' : 'download'),
    server: () => drive,
    proxy: () => proxy,
    serviceAccount: () => sa,
  };
}
