import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const CLI = path.resolve(import.meta.dirname, '../../dist/cli.js');

/** Environment for every spawned server: no metadata probes, nothing inherited that could reach the network. */
export function safeEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k]) env[k] = process.env[k]!;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: '127.0.0.1:1',
    CLOUDPORT_LOG_LEVEL: 'warn',
    ...extra,
  };
}

export function tempDir(prefix = 'cloudport-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CallResult<T = Record<string, any>> {
  isError: boolean;
  text: string;
  data: T;
}

export interface Running {
  client: Client;
  stderr: () => string;
  call<T = Record<string, any>>(name: string, args?: Record<string, unknown>): Promise<CallResult<T>>;
  /** Calls a tool and fails the test with the error text unless it succeeded. */
  ok<T = Record<string, any>>(name: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
  pid: number | null;
}

export async function startCloudport(opts: { dataDir: string; args?: string[]; env?: Record<string, string> }): Promise<Running> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--data-dir', opts.dataDir, ...(opts.args ?? [])],
    env: safeEnv(opts.env),
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'cloudport-test', version: '1.0.0' });
  await client.connect(transport);
  const call = async <T>(name: string, args: Record<string, unknown> = {}): Promise<CallResult<T>> => {
    const r = await client.callTool({ name, arguments: args });
    const content = r.content as { type: string; text: string }[];
    return { isError: !!r.isError, text: content.map((c) => c.text).join('\n'), data: (r.structuredContent ?? {}) as T };
  };
  return {
    client,
    stderr: () => err,
    call,
    async ok<T>(name: string, args: Record<string, unknown> = {}) {
      const r = await call<T>(name, args);
      if (r.isError) throw new Error(`${name} failed: ${r.text}`);
      return r.data;
    },
    async close() {
      await client.close();
    },
    pid: transport.pid,
  };
}

/** Polls import_status until the job is final (no wall-clock assertions: only a generous safety limit). */
export async function waitForJob(cp: Running, jobId: string, limitMs = 60_000): Promise<Record<string, any>> {
  const until = Date.now() + limitMs;
  for (;;) {
    const s = await cp.ok('import_status', { job_id: jobId });
    if (['completed', 'completed_with_errors', 'failed', 'canceled'].includes(s.status)) return s;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${s.status} after ${limitMs} ms: ${JSON.stringify(s.counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Creates a connector from `connector` (create_connector's arguments) and imports all of it into `index`: the job's final status. */
export async function importAll(cp: Running, connector: Record<string, unknown>, index: string): Promise<Record<string, any>> {
  const id = (await cp.ok('create_connector', connector)).connector.id;
  return waitForJob(cp, (await cp.ok('start_import', { connector_id: id, index })).job_id);
}

/** Runs the CLI to completion (for startup failures) and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: safeEnv(env) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy (a safety limit, not a timing assertion). */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Polls import_status until `pred` holds; the error carries the last status and the server's log tail. */
export async function waitUntil(cp: Running, jobId: string, pred: (s: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> {
  let s: Record<string, any> = {};
  for (let i = 0; i < 600; i++) {
    s = await cp.ok('import_status', { job_id: jobId });
    if (pred(s)) return s;
    await sleep(50);
  }
  throw new Error(`not reached: ${what}; last status ${JSON.stringify(s)}; server log: ${cp.stderr().slice(-2000)}`);
}

/** Every file of a job, through import_status pages. */
export async function allFiles(cp: Running, jobId: string): Promise<{ key: string; status: string }[]> {
  const out: { key: string; status: string }[] = [];
  let cursor: string | undefined;
  do {
    const s = await cp.ok('import_status', { job_id: jobId, files_status: 'all', limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...s.files);
    cursor = s.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

/** A process's JSON log lines with this message that mention `id` (an automation, a job), parsed, oldest first. */
export function logged<T>(cp: Running, msg: string, id: string): T[] {
  return cp
    .stderr()
    .split('\n')
    .filter((l) => l.includes(`"${msg}"`) && l.includes(id))
    .map((l) => JSON.parse(l) as T);
}

/** One automation as list_automations shows it. */
export async function automation(cp: Running, id: string): Promise<Record<string, any>> {
  const all = (await cp.ok('list_automations', { limit: 1000 })).automations as Record<string, any>[];
  return all.find((a) => a.id === id)!;
}

export interface Spawned {
  proc: import('node:child_process').ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Spawns `node [nodeArgs] dist/cli.js args` and resolves once its stderr shows `ready`; rejects with
 * the exit code and stderr ("exited N: …") if it ends first. `track` sees the process (to kill it in afterAll).
 */
export async function spawnReady(args: string[], env: Record<string, string>, ready: string, opts: { nodeArgs?: string[]; track?: (p: Spawned['proc']) => void } = {}): Promise<Spawned> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], { env: safeEnv({ CLOUDPORT_LOG_LEVEL: 'info', ...env }), stdio: ['ignore', 'ignore', 'pipe'] });
  opts.track?.(proc);
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(ready)) resolve({ proc, stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

/** Temp files left in a data dir: in incoming/0 … f, or in tmp/, where earlier versions kept them. */
export function tempFiles(dataDir: string): string[] {
  const out: string[] = [];
  for (const top of ['incoming', 'tmp']) {
    const dir = path.join(dataDir, top);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) if (fs.statSync(path.join(dir, f)).isFile()) out.push(path.join(top, f));
  }
  return out;
}
