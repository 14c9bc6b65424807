import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { pgSchema } from '../helpers/pg.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnReady, startCloudport, tempDir, waitForJob, waitUntil } from '../helpers/cloudport.js';
import { INIT, raw, startHttpServer } from '../helpers/http.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A PostgreSQL restart or a network blip: a loopback TCP proxy of ours sits between cloudport and the
 * database and drops every connection for a moment. A worker holding a client for a transaction at that
 * moment stays up (the client's 'error' event has a listener), reconnects and finishes the job; the
 * front door answers 503 with Retry-After while keys cannot be looked up.
 */
const MASTER_KEY = randomBytes(32).toString('base64');

async function cuttableProxy(targetPort: number) {
  const socks = new Set<net.Socket>();
  let up = true;
  let refused = 0;
  const server = net.createServer((c) => {
    if (!up) return void (refused++, c.destroy());
    const u = net.connect(targetPort, '127.0.0.1');
    socks.add(c).add(u);
    c.pipe(u).pipe(c);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    for (const s of [c, u]) s.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() { up = false; for (const s of socks) s.destroy(); socks.clear(); },
    restore() { up = true; },
    /** Connections refused while cut: the process tried to reach the database again. */
    refused: () => refused,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

describe('PostgreSQL connection loss', () => {
  let env: S3Env;
  const { procs, url } = pgSchema('cp_pgcut');
  const firstDataDir = tempDir();

  beforeAll(async () => {
    env = await startS3Env(['cut']);
    for (let i = 0; i < 300; i++) await env.s3.put('cut', `d/f${i}.txt`, `document ${i}\n`);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a worker whose database connections drop mid-import stays up and finishes the job once PostgreSQL is back', async () => {
    const proxy = await cuttableProxy(5432);
    const direct = url();
    const viaProxy = url(proxy.port);
    const dataDir = firstDataDir;
    const common = ['--blob-store', `${dataDir}/blobs`, '--allow-private-endpoints'];
    const penv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_LEASE_MS: '3000' };
    const mcp = await startCloudport({ dataDir, args: ['--workers', '0', '--database-url', direct, ...common], env: penv });
    const worker = await spawnReady(['worker', '--data-dir', tempDir(), '--workers', '8', '--database-url', viaProxy, ...common], penv, 'cloudport worker ready', { track: (p) => procs.push(p) });
    try {
      const connector = (await mcp.ok('create_connector', env.connector('cut'))).connector.id;
      env.proxy.setDelays({ GetObject: 20 });
      const job = await mcp.ok('start_import', { connector_id: connector, index: 'cut', prefix: 'd/' });
      // Five drops, each once the job has moved on since the last: a drop kills the process when one of its
      // pooled clients is checked out for a transaction at that moment (most drops mid-import, not all).
      let ready = 0;
      for (let drop = 0; drop < 5 && worker.proc.exitCode === null; drop++) {
        ready = (await waitUntil(mcp, job.job_id, (s) => s.counts.ready >= ready + 20 || s.status === 'completed', `20 more ready after drop ${drop}`)).counts.ready;
        if (ready >= 300) break;
        const refusedBefore = proxy.refused();
        proxy.cut();
        // Either the worker tries the database again (a connection the cut proxy refuses), or it is gone.
        const outcome = await Promise.race([
          worker.exited.then((code) => `exited ${code}`),
          new Promise<string>((r) => { const t = setInterval(() => { if (proxy.refused() > refusedBefore) { clearInterval(t); r('reconnecting'); } }, 20); }),
        ]);
        proxy.restore();
        expect(outcome, worker.stderr().split('\n').filter((l) => !l.startsWith('{')).join('\n').slice(0, 800)).toBe('reconnecting');
      }
      const done = await waitForJob(mcp, job.job_id, 90_000);
      expect(done.status).toBe('completed');
      expect(done.counts.ready).toBe(300);
      expect(worker.proc.exitCode).toBeNull();
    } finally {
      worker.proc.kill('SIGKILL');
      await mcp.close();
      await proxy.close();
    }
  });

  it('while PostgreSQL is unreachable the front door answers 503 with Retry-After (a temporary condition), not 500 "Internal error"', async () => {
    const proxy = await cuttableProxy(5432);
    const viaProxy = url(proxy.port);
    const dataDir = firstDataDir; // the schema's content lives in the first test's blob store
    const penv = { CLOUDPORT_MASTER_KEY: MASTER_KEY };
    const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', viaProxy], penv);
    expect(k.code, k.stderr).toBe(0);
    const key = k.stdout.trim().split('\n').pop()!;
    const srv = await startHttpServer(dataDir, ['--database-url', viaProxy, '--workers', '0'], penv);
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      expect((await raw(srv.port, { headers, body: INIT })).status).toBe(200);
      proxy.cut();
      const r = await raw(srv.port, { headers, body: INIT });
      proxy.restore();
      expect(r.status, r.body).toBe(503);
      expect(r.headers['retry-after']).toBeDefined();
    } finally {
      await srv.stop('SIGKILL');
      await proxy.close();
    }
  });
});
