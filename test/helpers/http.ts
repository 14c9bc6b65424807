import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, runCli, safeEnv } from './cloudport.js';

export interface HttpServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startHttpServer(dataDir: string, args: string[] = [], env: Record<string, string> = {}): Promise<HttpServer> {
  const proc = spawn(process.execPath, [CLI, '--http', '--port', '0', '--data-dir', dataDir, ...args], { env: safeEnv({ CLOUDPORT_LOG_LEVEL: 'info', ...env }) });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"url":"([^"]+)"/.exec(err);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export async function createKey(dataDir: string, org: string, readOnly = false): Promise<string> {
  const r = await runCli(['keys', 'create', '--org', org, '--data-dir', dataDir, ...(readOnly ? ['--read-only'] : [])]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').pop()!;
}

export interface HttpClient {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; text: string; data: Record<string, any> }>;
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
  /** Every JSON-RPC message the client received (responses and notifications). */
  received: unknown[];
}

export async function connectHttp(url: string, key: string): Promise<HttpClient> {
  const received: unknown[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
  const client = new Client({ name: 'http-test', version: '1' });
  await client.connect(transport);
  const onmessage = transport.onmessage;
  transport.onmessage = (m) => {
    received.push(m);
    onmessage?.(m);
  };
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n'), data: (r.structuredContent ?? {}) as Record<string, any> };
  };
  return {
    client,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${r.text}`);
      return r.data;
    },
    close: () => client.close(),
    received,
  };
}

/** A raw HTTP request (fetch cannot set Host). */
export function raw(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/mcp', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
