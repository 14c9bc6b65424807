import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { INIT, connectHttp, createKey, raw, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET, bytes, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

const ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('team server over Streamable HTTP', () => {
  let env: S3Env;
  let dataDir: string;
  let srv: HttpServer;
  let keyA: string;
  let keyB: string;
  let keyRO: string;
  let a: HttpClient;
  let b: HttpClient;
  const connector = (bucket: string, extra: Record<string, unknown> = {}) => ({
    name: uniqueName(),
    provider: 's3',
    bucket,
    endpoint: env.proxy.endpoint,
    credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
    ...extra,
  });

  beforeAll(async () => {
    env = await startS3Env(['team', 'slow']);
    for (let i = 0; i < 5; i++) await env.s3.put('team', `docs/${i}.txt`, `doc ${i}`);
    dataDir = tempDir();
    keyA = await createKey(dataDir, 'acme');
    keyB = await createKey(dataDir, 'globex');
    keyRO = await createKey(dataDir, 'acme', true);
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32', '--allow-env-refs', 'TEAM_*'], { TEAM_SECRET: SECRET, OTHER_SECRET: 'x' });
    // The shared server ending before afterAll stops it fails every later test alike: its last words say why.
    const started = srv;
    started.proc.on('exit', (code, signal) => {
      if (!stopping) console.error(`the team server ended early (code ${code}, signal ${signal}); its stderr ends:\n${started.stderr().slice(-4000)}`);
    });
    a = await connectHttp(srv.url, keyA);
    b = await connectHttp(srv.url, keyB);
  });
  let stopping = false;
  afterAll(async () => {
    stopping = true;
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await srv?.stop();
    await env?.stop();
  });

  it('refuses requests without a valid key with 401 and WWW-Authenticate; nothing reaches a tool', async () => {
    let r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}` }, body: INIT });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="cloudport"/);
    r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: 'Bearer cpk_wrong' }, body: INIT });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('invalid_token');
    // Two Authorization headers, a valid key first: refused (a proxy in front may read the other one).
    r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: [`Bearer ${keyA}`, 'Bearer cpk_other'] }, body: INIT });
    expect(r.status).toBe(401);
    const revoked = await createKey(dataDir, 'acme');
    const list = fs.readFileSync; // keep the import used
    void list;
    const { runCli } = await import('../helpers/cloudport.js');
    const keys = (await runCli(['keys', 'list', '--data-dir', dataDir])).stdout.trim().split('\n');
    const id = keys.find((l) => l.includes(revoked.slice(0, 10)))!.split('\t')[0]!;
    expect((await runCli(['keys', 'revoke', id, '--data-dir', dataDir])).code).toBe(0);
    r = await raw(srv.port, { headers: { ...ACCEPT, host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${revoked}` }, body: INIT });
    expect(r.status).toBe(401);
    const db = fs.readFileSync(path.join(dataDir, 'cloudport.db'));
    expect(db.includes(keyA)).toBe(false); // keys are stored hashed
  });

  it('checks Host and Origin (DNS rebinding), bounds bodies, answers malformed JSON with -32700, and serves /healthz', async () => {
    const auth = { authorization: `Bearer ${keyA}` };
    let r = await raw(srv.port, { headers: { ...ACCEPT, ...auth, host: 'evil.example:80' }, body: INIT });
    expect(r.status).toBe(403);
    r = await raw(srv.port, { headers: { ...ACCEPT, ...auth, host: `localhost:${srv.port}`, origin: 'http://evil.example' }, body: INIT });
    expect(r.status).toBe(403);
    r = await raw(srv.port, { headers: { ...ACCEPT, ...auth, host: `localhost:${srv.port}`, origin: `http://localhost:${srv.port}` }, body: INIT });
    expect(r.status).toBe(200);
    r = await raw(srv.port, { headers: { ...ACCEPT, ...auth, host: `127.0.0.1:${srv.port}` }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    expect(r.status).toBe(413);
    r = await raw(srv.port, { headers: { ...ACCEPT, ...auth, host: `127.0.0.1:${srv.port}` }, body: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe(-32700);
    expect(r.body).not.toMatch(/\/work\/|at .*\.js:\d+/);
    r = await raw(srv.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${srv.port}`, ...auth } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, store: 'ok' });
  });

  it('isolates organizations on every tool: a foreign id answers exactly like an unknown id', async () => {
    const { connector: c } = await a.ok('create_connector', connector('team'));
    const job = await a.ok('start_import', { connector_id: c.id, index: 'private' });
    const conn2 = await a.call('create_connector', connector('team', { name: c.name }));
    expect(conn2.data.error.kind).toBe('conflict');
    await (async () => {
      for (let i = 0; i < 100; i++) {
        const s = await a.ok('import_status', { job_id: job.job_id });
        if (s.status === 'completed') return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // The same name is free in another organization.
    expect((await b.call('create_connector', connector('team', { name: c.name }))).isError).toBe(false);
    const same = async (tool: string, args: Record<string, unknown>, foreign: string, unknown: string) => {
      const f = await b.call(tool, args);
      const u = await b.call(tool, JSON.parse(JSON.stringify(args).split(foreign).join(unknown)));
      expect(f.isError, tool).toBe(true);
      expect(f.text.split(foreign).join('ID'), tool).toBe(u.text.split(unknown).join('ID'));
      expect(JSON.stringify(f.data).split(foreign).join('ID'), tool).toBe(JSON.stringify(u.data).split(unknown).join('ID'));
    };
    const unknownConn = 'conn_0000000000000000000000000';
    for (const tool of ['get_connector', 'test_connector', 'browse_connector', 'update_connector', 'delete_connector']) {
      await same(tool, { connector_id: c.id }, c.id, unknownConn);
    }
    await same('start_import', { connector_id: c.id, index: 'x' }, c.id, unknownConn);
    await same('start_export', { connector_id: c.id, index: 'private' }, c.id, unknownConn);
    await same('import_logs', { connector_id: c.id }, c.id, unknownConn);
    const unknownJob = 'imp_0000000000000000000000000';
    for (const tool of ['import_status', 'cancel_import', 'import_logs']) await same(tool, { job_id: job.job_id }, job.job_id, unknownJob);
    await same('start_import', { retry_of: job.job_id }, job.job_id, unknownJob);
    await same('list_index_items', { index: 'private' }, 'private', 'nonesuch');
    await same('read_item', { index: 'private', key: 'docs/0.txt' }, 'private', 'nonesuch');
    await same('delete_item', { index: 'private', key: 'docs/0.txt' }, 'private', 'nonesuch');
    await same('delete_index', { index: 'private' }, 'private', 'nonesuch');
    expect((await b.ok('list_imports')).imports).toEqual([]);
    expect((await b.ok('list_indexes')).indexes).toEqual([]);
    expect((await b.ok('list_connectors')).connectors.map((x: { id: string }) => x.id)).not.toContain(c.id);
    // And A still has everything.
    expect((await a.ok('list_index_items', { index: 'private' })).items).toHaveLength(5);
  });

  it('read-only keys see only read-only tools and are refused the others', async () => {
    const ro = await connectHttp(srv.url, keyRO);
    const names = (await ro.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('create_connector');
    expect(names).toContain('list_connectors');
    const r = await ro.call('create_connector', connector('team'));
    expect(r.data.error.kind).toBe('permission_denied');
    await ro.close();
  });

  it('works in stateless mode too', async () => {
    const s = await startHttpServer(dataDir, ['--stateless', '--allow-endpoint-cidr', '127.0.0.1/32']);
    try {
      const c = await connectHttp(s.url, keyA);
      const list = await c.ok('list_connectors');
      expect(list.connectors.length).toBeGreaterThan(0);
      await c.close();
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    const s = await startHttpServer(dataDir, ['--rate-limit', '3']);
    onTestFinished(() => void s.stop());
    const statuses: number[] = [];
    let retry: string | undefined;
    for (let i = 0; i < 6; i++) {
      const r = await raw(s.port, { headers: { ...ACCEPT, host: `127.0.0.1:${s.port}`, authorization: `Bearer ${keyB}` }, body: INIT });
      statuses.push(r.status);
      retry ??= r.headers['retry-after'] as string | undefined;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses).toContain(429);
    expect(Number(retry)).toBeGreaterThan(0);
    await s.stop();
  });

  it('secret references and ambient identity are refused over HTTP unless allowed; server settings never', async () => {
    const withRef = (ref: Record<string, string>) => connector('team', { credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: ref } });
    expect((await a.call('create_connector', withRef({ env: 'TEAM_SECRET' }))).isError).toBe(false);
    let r = await a.call('create_connector', withRef({ env: 'OTHER_SECRET' }));
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'credentials.secret_access_key' });
    expect(r.text).toMatch(/secret-reference policy/);
    r = await a.call('create_connector', withRef({ env: 'CLOUDPORT_MASTER_KEY' }));
    expect(r.data.error.kind).toBe('permission_denied');
    r = await a.call('create_connector', withRef({ file: path.join(dataDir, 'master.key') }));
    expect(r.data.error.kind).toBe('permission_denied');
    r = await a.call('create_connector', withRef({ file: '/etc/hostname' }));
    expect(r.data.error.kind).toBe('permission_denied');
    r = await a.call('create_connector', connector('team', { credentials: { type: 'default' }, validate: false }));
    expect(r.data.error).toMatchObject({ kind: 'permission_denied', field: 'credentials.type' });
    expect(r.text).toMatch(/ambient-credentials policy/);
    r = await a.call('create_connector', connector('team', { credentials: { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/R' }, validate: false }));
    expect(r.data.error.kind).toBe('permission_denied');
  });

  it('refuses private, loopback and link-local endpoints in every spelling (SSRF), and names resolving to them at connect time', async () => {
    const strict = await startHttpServer(dataDir, []);
    onTestFinished(() => void strict.stop());
    const c = await connectHttp(strict.url, keyA);
    const literals = [
      'http://127.0.0.1:9000',
      'http://127.1',
      'http://2130706433',
      'http://0x7f000001',
      'http://0177.0.0.1',
      'http://0x7f.0.0.1',
      'http://[::1]:9000',
      'http://[::ffff:127.0.0.1]',
      'http://[::ffff:7f00:1]',
      'http://169.254.169.254',
      'http://[::ffff:169.254.169.254]',
      'http://10.0.0.1',
      'http://172.16.5.4',
      'http://192.168.1.1',
      'http://100.64.0.1',
      'http://0.0.0.0',
      'http://[fd00::1]',
      'http://[fe80::1]',
      'http://[::]',
    ];
    for (const endpoint of literals) {
      for (const validate of [true, false]) {
        const r = await c.call('create_connector', connector('team', { endpoint, validate }));
        expect(r.isError, endpoint).toBe(true);
        expect(r.data.error, endpoint).toMatchObject({ kind: 'permission_denied', field: 'endpoint' });
        expect(r.text, endpoint).toMatch(/endpoint policy/);
      }
    }
    const sts = await c.call('create_connector', connector('team', { endpoint: 'https://s3.example.com', sts_endpoint: 'http://169.254.169.254', validate: false }));
    expect(sts.data.error).toMatchObject({ kind: 'permission_denied', field: 'sts_endpoint' });
    // A name is checked when it is resolved: "localhost" resolves to loopback and is refused at connect time.
    const byName = await c.ok('create_connector', connector('team', { endpoint: `http://localhost:${env.proxy.endpoint.split(':').pop()}`, validate: false }));
    env.proxy.resetCounts();
    const t = await c.ok('test_connector', { connector_id: byName.connector.id });
    expect(t.success).toBe(false);
    expect(t.checks[0].detail).toMatch(/loopback.*endpoint policy/);
    expect(env.proxy.counts.total).toBe(0);
    await c.close();
    await strict.stop();
  });

  it('a canary secret never appears in any response, notification, log line or the database', async () => {
    const CANARY = 'CANARYsecret-7f3a9d2e-do-not-leak';
    const CANARY_ID = 'AKIACANARY7F3A9D2E00';
    const canaryConn = (extra: Record<string, unknown> = {}) =>
      connector('team', { credentials: { type: 'access_key', access_key_id: CANARY_ID, secret_access_key: CANARY, session_token: `${CANARY}-token` }, ...extra });
    const { connector: c } = await a.ok('create_connector', canaryConn());
    await a.ok('test_connector', { connector_id: c.id });
    await a.ok('get_connector', { connector_id: c.id });
    await a.ok('list_connectors');
    await a.ok('browse_connector', { connector_id: c.id });
    const job = await a.ok('start_import', { connector_id: c.id, index: 'canary' });
    await a.client.callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 5 } }, undefined, { onprogress: () => {} });
    await a.ok('import_logs', { job_id: job.job_id });
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 3, action: { type: 'status', status: 403, code: 'SignatureDoesNotMatch', message: `The request signature we calculated does not match the signature you provided. Check your key ${CANARY_ID}.` } });
    await a.call('create_connector', canaryConn());
    await a.call('test_connector', { connector_id: c.id });
    await a.call('browse_connector', { connector_id: c.id });
    await a.call('update_connector', { connector_id: c.id, credentials: { type: 'access_key', access_key_id: CANARY_ID, secret_access_key: `${CANARY}-2` } });
    await a.call('create_connector', canaryConn({ endpoint: 'http://169.254.169.254' }));
    await a.call('create_connector', canaryConn({ credentials: { type: 'access_key', access_key_id: CANARY_ID, secret_access_key: { env: `NOPE_${CANARY}` } } }));
    env.proxy.clearFaults();
    await a.call('delete_connector', { connector_id: c.id });
    const forms = (s: string) => [s, Buffer.from(s).toString('base64'), encodeURIComponent(s), Buffer.from(s).toString('hex')];
    const haystacks = [JSON.stringify(a.received), srv.stderr(), fs.readFileSync(path.join(dataDir, 'cloudport.db')).toString('latin1')];
    const wal = path.join(dataDir, 'cloudport.db-wal');
    if (fs.existsSync(wal)) haystacks.push(fs.readFileSync(wal).toString('latin1'));
    for (const h of haystacks) for (const f of [...forms(CANARY), ...forms(SECRET)]) expect(h.includes(f), f).toBe(false);
    expect(a.received.length).toBeGreaterThan(10);
  });

  it('SIGTERM mid-import stops taking requests, hands back its work, exits 0, and nothing is lost', async () => {
    const dir = tempDir();
    const key = await createKey(dir, 'acme');
    for (let i = 0; i < 20; i++) await env.s3.put('slow', `f/${i}.bin`, bytes(64 * 1024, 500 + i));
    const s = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32', '--concurrency', '2']);
    onTestFinished(() => void s.stop());
    const c = await connectHttp(s.url, key);
    const { connector: conn } = await c.ok('create_connector', connector('slow'));
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: 32 * 1024, ms: 200 } });
    const job = await c.ok('start_import', { connector_id: conn.id, index: 'shutdown', idempotency_key: 'shutdown-1' });
    for (let i = 0; i < 200; i++) {
      const st = await c.ok('import_status', { job_id: job.job_id });
      if (st.counts.ready >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await s.stop('SIGTERM')).toBe(0);
    env.proxy.clearFaults();
    const s2 = await startHttpServer(dir, ['--allow-endpoint-cidr', '127.0.0.1/32']);
    onTestFinished(() => void s2.stop());
    const c2 = await connectHttp(s2.url, key);
    // A client that lost the answer repeats start_import with its idempotency key and gets the same job.
    expect((await c2.ok('start_import', { connector_id: conn.id, index: 'shutdown', idempotency_key: 'shutdown-1' })).job_id).toBe(job.job_id);
    let done: Record<string, any> = {};
    for (let i = 0; i < 600 && done.status !== 'completed'; i++) done = await c2.ok('import_status', { job_id: job.job_id, wait_seconds: 5 });
    expect(done.status).toBe('completed');
    expect(done.counts.ready).toBe(20);
    await c2.close();
    expect(await s2.stop()).toBe(0);
  });
});
