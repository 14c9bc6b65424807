import { randomBytes } from 'node:crypto';
import { runCli, spawnReady, sleep, tempDir, type Spawned } from './cloudport.js';
import { connectHttp, startHttpServer, type HttpClient, type HttpServer } from './http.js';
import type { S3Env } from './s3env.js';

export const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];

export function cluster(url: string, procs: import('node:child_process').ChildProcess[], extraEnv: Record<string, string> = {}) {
  const MASTER_KEY = randomBytes(32).toString('base64');
  const dataDir = tempDir();
  const penv = { CLOUDPORT_MASTER_KEY: MASTER_KEY, CLOUDPORT_LEASE_MS: '3000', ...extraEnv };
  const common = ['--database-url', url, '--blob-store', `${dataDir}/blobs`, '--allow-private-endpoints'];
  const started: { stop(): Promise<unknown> }[] = [];
  return {
    dataDir,
    penv,
    async frontDoor(args: string[] = []): Promise<{ srv: HttpServer; c: HttpClient }> {
      const srv = await startHttpServer(dataDir, ['--workers', '0', ...common, ...args], penv);
      procs.push(srv.proc);
      const k = await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dataDir, '--database-url', url], penv);
      if (k.code !== 0) throw new Error(k.stderr);
      const key = k.stdout.trim().split('\n').pop()!;
      const c = await connectHttp(srv.url, key);
      return { srv, c };
    },
    async worker(args: string[] = ['--workers', '4'], env: Record<string, string> = {}): Promise<Spawned> {
      return spawnReady(['worker', '--data-dir', dataDir, ...common, ...args], { ...penv, ...env }, 'cloudport worker ready', { track: (p) => procs.push(p) });
    },
  };
}

export async function waitStatus(c: HttpClient, jobId: string, pred: (s: Record<string, any>) => boolean, what: string, limitMs = 90_000) {
  const end = Date.now() + limitMs;
  let s: Record<string, any> = {};
  for (;;) {
    s = await c.ok('import_status', { job_id: jobId });
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`not reached: ${what}; last ${JSON.stringify(s)}`);
    await sleep(100);
  }
}
export const waitFinal = (c: HttpClient, jobId: string, limitMs = 90_000) => waitStatus(c, jobId, (s) => FINAL.includes(s.status), 'final', limitMs);

export async function allLogs(c: HttpClient, jobId: string): Promise<Record<string, any>[]> {
  const out: Record<string, any>[] = [];
  let cursor: string | undefined;
  do {
    const r = await c.ok('import_logs', { job_id: jobId, limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...(r.entries ?? r.logs ?? []));
    cursor = r.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

export async function allItems(c: HttpClient, index: string) {
  const out: unknown[][] = [];
  let cursor: string | undefined;
  do {
    const r = await c.ok('list_index_items', { index, limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...r.items);
    cursor = r.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

export async function fill(env: S3Env, bucket: string, n: number, prefix = 'd/') {
  const puts: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    puts.push(env.s3.put(bucket, `${prefix}f${String(i).padStart(4, '0')}.txt`, `document ${bucket} ${i} ${randomBytes(8).toString('hex')}\n`));
    if (puts.length >= 32) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
}

import { execFileSync } from 'node:child_process';
/** Local ports of a process's TCP connections to PostgreSQL (5432), from ss. */
export function pgPortsOf(pid: number): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', '( dport = :5432 )'], { encoding: 'utf8' });
  const ports: number[] = [];
  for (const line of out.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const m = /\s(?:127\.0\.0\.1|\[::1\]|::1):(\d+)\s/.exec(line);
    if (m) ports.push(Number(m[1]));
  }
  return ports;
}
