import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnReady, tempDir, until } from '../helpers/cloudport.js';
import { connectHttp } from '../helpers/http.js';
import { KEY_ID, SECRET, startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * The tenant policy holds in `cloudport worker` too: a name that resolves to an allowed address at the
 * front door and to another loopback address in the worker (DNS rebinding, simulated by a `-r` preload
 * that patches dns.lookup in each process) must not make the worker fetch from the refused address.
 * And a worker whose --allow-* settings differ from the front door's refuses to start.
 */
const PRELOAD = path.resolve(import.meta.dirname, '../support/dns-rebind.cjs');
const NAME = 'rebindhost';
const MASTER_KEY = randomBytes(32).toString('base64');
const FAKE = 'FAKE-METADATA-BODY-7f3a';

/** What a metadata service would answer, spoken as S3: one object whose body must never reach an index. */
function fakeS3(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('list-type') === '2') {
      const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>docs</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>iam/credentials</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"0123456789abcdef0123456789abcdef"</ETag><Size>${FAKE.length}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`;
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      return void res.end(xml);
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': FAKE.length, etag: '"0123456789abcdef0123456789abcdef"', 'last-modified': new Date(0).toUTCString() });
    res.end(req.method === 'HEAD' ? undefined : FAKE);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.2', () => resolve(server));
  });
}

describe('worker: the tenant policy of the front door', () => {
  let env: S3Env;
  let fake: http.Server;
  const schema = `cp_wpol_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  const url = `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    await admin.connect();
    env = await startS3Env(['docs']);
    await env.s3.put('docs', 'readme.txt', 'the real bucket');
    fake = await fakeS3(Number(new URL(env.proxy.endpoint).port));
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await new Promise((r) => fake?.close(r));
    await env?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  });

  /** Starts a cloudport process whose lookup of NAME answers `to`; resolves once `ready` shows on its stderr. */
  const start = (args: string[], to: string, ready: string) =>
    spawnReady(args, { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_LEASE_MS: '3000', REBIND_HOST: NAME, REBIND_TO: to }, ready, { nodeArgs: ['-r', PRELOAD], track: (p) => procs.push(p) });

  it('a rebinding name cannot make a worker fetch from a refused address; a worker with other --allow-* flags refuses to start', async () => {
    const dataDir = tempDir();
    const allow = ['--allow-endpoint-cidr', '127.0.0.1/32'];
    const front = await start(['--http', '--port', '0', '--workers', '0', '--data-dir', dataDir, '--database-url', url, ...allow], '127.0.0.1', 'cloudport ready');
    const mcpUrl = /"url":"([^"]+)"/.exec(front.stderr())![1]!;
    // Same settings as the front door: starts. Its lookup of NAME answers 127.0.0.2, outside the allowed CIDR.
    const worker = await start(['worker', '--workers', '2', '--data-dir', dataDir, '--database-url', url, ...allow], '127.0.0.2', 'cloudport worker ready');

    const made = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', url], { CLOUDPORT_MASTER_KEY: MASTER_KEY });
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim().split('\n').pop()!;
    const c = await connectHttp(mcpUrl, key);
    try {
      const port = new URL(env.proxy.endpoint).port;
      const conn = await c.ok('create_connector', {
        name: 'rebind',
        provider: 's3',
        bucket: 'docs',
        endpoint: `http://${NAME}:${port}`,
        credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
      });
      const job = await c.ok('start_import', { connector_id: conn.connector.id, index: 'rebound' });
      const final = await until('the job to end', async () => {
        const s = await c.ok('import_status', { job_id: job.job_id });
        return ['completed', 'completed_with_errors', 'failed', 'canceled'].includes(s.status) ? s : null;
      }, 60_000);
      // start_import's first listing runs at the front door (NAME is 127.0.0.1 there); the worker downloads.
      const read = await c.call('read_item', { index: 'rebound', key: 'readme.txt' });
      expect(read.text).not.toContain(FAKE);
      expect(JSON.stringify(read.data)).not.toContain(FAKE);
      expect(final.status).toBe('failed');
      const failed = await c.ok('import_status', { job_id: job.job_id, files_status: 'failed' });
      expect(failed.files[0].key).toBe('readme.txt');
      expect(failed.files[0].error).toMatch(/127\.0\.0\.2.*endpoint policy/);
    } finally {
      await c.close();
    }

    // Another policy than the one the front door recorded: the worker refuses to start and says why.
    const loose = await start(['worker', '--workers', '1', '--data-dir', dataDir, '--database-url', url, '--allow-private-endpoints'], '127.0.0.2', 'cloudport worker ready').catch((e: Error) => e);
    expect(loose).toBeInstanceOf(Error);
    expect((loose as Error).message).toMatch(/exited 1/);
    expect((loose as Error).message).toMatch(/tenant policy/);
    expect((loose as Error).message).toMatch(/same --allow-env-refs/);

    worker.proc.kill('SIGTERM');
    front.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await front.exited;
  });
});
