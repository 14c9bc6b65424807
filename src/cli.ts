#!/usr/bin/env node
import fs from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App, AppConfig } from './core/app.js';
import { DEFAULT_ORG } from './core/org.js';
import { helpText, parseConfig, type CliConfig } from './config.js';
import { createServer } from './server.js';
import { CloudportError, asCloudportError } from './shared/errors.js';
import { createLogger, type Logger } from './shared/log.js';
import { redact } from './shared/redact.js';

/** The core (store, engine, providers) loads on demand: stdio answers the MCP handshake while it opens. */
const openApp = async (config: AppConfig): Promise<App> => (await import('./core/app.js')).App.open(config);

const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function appConfig(cfg: CliConfig, log: Logger, concurrency = cfg.concurrency): AppConfig {
  const h = cfg.http;
  return {
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    readOnly: cfg.readOnly,
    concurrency,
    connectorConcurrency: cfg.connectorConcurrency,
    blobStore: cfg.blobStore,
    hashThreads: cfg.hashThreads,
    leaseMs: cfg.leaseMs,
    maxAttempts: cfg.maxAttempts,
    ...(cfg.sqliteMaxPageCount ? { sqliteMaxPageCount: cfg.sqliteMaxPageCount } : {}),
    pollMs: 250,
    idleTimeoutMs: cfg.idleTimeoutMs,
    browseBudgetMs: cfg.browseBudgetMs,
    retentionDays: cfg.retentionDays,
    env: process.env,
    log,
    // stdio serves the machine's own user; HTTP serves tenants and is strict unless the operator opts in.
    ...(h
      ? {
          policy: {
            envRefs: h.envRefs,
            fileRefs: h.fileRefs,
            ambientCredentials: h.ambientCredentials,
            privateEndpoints: h.privateEndpoints,
            endpointCidrs: h.endpointCidrs,
          },
        }
      : {}),
  };
}

/** `cloudport keys create|list|revoke`: API keys for the HTTP front door. */
async function keysCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) {
      flags._ = a;
      continue;
    }
    const name = a.slice(2);
    if (name === 'read-only') flags[name] = true;
    else flags[name] = rest[++i] ?? '';
  }
  const passed = (['data-dir', 'database-url'] as const).flatMap((f) => (typeof flags[f] === 'string' ? [`--${f}`, flags[f] as string] : []));
  const cfg = parseConfig(passed, process.env);
  const app = await openApp(appConfig(cfg, createLogger('warn'), 0));
  try {
    if (action === 'create') {
      if (typeof flags.org !== 'string' || !flags.org) throw new CloudportError('config_invalid', 'keys create needs --org NAME', { field: '--org' });
      const k = await app.keys.create(flags.org, { readOnly: flags['read-only'] === true, name: typeof flags.name === 'string' ? flags.name : undefined });
      process.stdout.write(`created key ${k.id} for organization ${k.org}${k.read_only ? ' (read-only)' : ''}; it is shown only once:\n${k.key}\n`);
    } else if (action === 'list') {
      for (const k of await app.keys.list()) {
        process.stdout.write(`${k.id}\t${k.org}\t${k.prefix}…\t${k.read_only ? 'read-only' : 'read-write'}\t${k.created_at}\t${k.revoked_at ? `revoked ${k.revoked_at}` : 'active'}${k.name ? `\t${k.name}` : ''}\n`);
      }
    } else if (action === 'revoke') {
      if (typeof flags._ !== 'string') throw new CloudportError('config_invalid', 'keys revoke needs a key id (see keys list)', { field: 'ID' });
      await app.keys.revoke(flags._);
      process.stdout.write(`revoked ${flags._}\n`);
    } else {
      throw new CloudportError('config_invalid', `unknown keys command ${JSON.stringify(action ?? '')}`, { fix: 'Use keys create --org NAME, keys list, or keys revoke ID.' });
    }
  } finally {
    await app.close();
  }
}

/**
 * `cloudport worker`: import work only (the job engine and maintenance), no MCP transport. Several
 * workers (and MCP servers, which run workers too) on one store divide the work with leases.
 * SIGTERM / SIGINT hand the leases back at once and exit 0.
 */
async function workerCommand(args: string[]): Promise<void> {
  const cfg = parseConfig(args, process.env);
  if (cfg.help) return void process.stdout.write(helpText(VERSION));
  if (cfg.http) throw new CloudportError('config_invalid', 'cloudport worker serves no MCP; --http does not apply', { field: '--http', fix: 'Run cloudport --http for a front door (it runs workers too), or drop --http.' });
  if (cfg.concurrency <= 0) throw new CloudportError('config_invalid', 'cloudport worker with --workers 0 would do nothing', { field: '--workers', fix: 'Give --workers 1 or more (default 16).' });
  const log = createLogger(cfg.logLevel, { pid: process.pid, role: 'worker' });
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.debug('process warning', { name: w.name, warning: w.message.split('\n')[0] }));
  const app = await openApp(appConfig(cfg, log));
  onShutdown(log, () => app.close()); // hands back leased import work
  app.start();
  log.info('cloudport worker ready', { version: VERSION, data_dir: cfg.dataDir, workers: cfg.concurrency, connector_concurrency: cfg.connectorConcurrency, blob_store: app.blobs.location });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'keys') return keysCommand(argv.slice(1));
  if (argv[0] === 'worker') return workerCommand(argv.slice(1));
  const cfg = parseConfig(argv, process.env);
  if (cfg.help) return void process.stdout.write(helpText(VERSION));
  if (cfg.version) return void process.stdout.write(VERSION + '\n');
  const log = createLogger(cfg.logLevel, { pid: process.pid });
  // Process warnings (e.g. the AWS SDK's Node version notice) go through the JSON log, not as free text on stderr.
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.debug('process warning', { name: w.name, warning: w.message.split('\n')[0] }));
  if (cfg.http) return serveHttpMode(cfg, log, await openApp(appConfig(cfg, log)));

  // stdio: the transport connects first and the core (store, engine, providers) opens right after, so the
  // handshake and tools/list never wait for the store; tool calls wait for it. A core that fails to open
  // (e.g. a wrong master key) still ends the process with the same clear startup error before any tool runs.
  let resolveApp!: (app: App) => void;
  let rejectApp!: (e: unknown) => void;
  const ready = new Promise<App>((resolve, reject) => ((resolveApp = resolve), (rejectApp = reject)));
  ready.catch(() => undefined); // a failed open ends the process through main's catch
  const calls = new Set<Promise<unknown>>();
  const track = (call: Promise<unknown>) => {
    calls.add(call);
    void call.finally(() => calls.delete(call));
  };
  const server = createServer(ready, { org: DEFAULT_ORG, readOnly: cfg.readOnly, version: VERSION, log, track });
  const shutdown = onShutdown(log, async () => {
    // Input ended (or a signal): answer what was asked (a piped session sends its requests, then EOF),
    // then stop taking requests and hand back leased import work.
    const app = await ready.catch(failStartup);
    await Promise.allSettled([...calls]);
    await new Promise((resolve) => setImmediate(resolve)); // the SDK sends each answer a few microtasks later
    await server.close();
    await app.close();
  });
  process.stdin.on('end', () => void shutdown('stdin closed'));
  await server.connect(new StdioServerTransport());
  const app = await openApp(appConfig(cfg, log)).catch((e) => {
    rejectApp(e);
    throw e;
  });
  resolveApp(app);
  app.start();
  log.info('cloudport ready', { version: VERSION, data_dir: cfg.dataDir, read_only: cfg.readOnly, transport: 'stdio' });
}

/** Installs SIGTERM / SIGINT handlers that run `stop` once and exit 0 (forced after 10 s); returns the trigger. */
function onShutdown(log: Logger, stop: () => Promise<void>): (why: string) => Promise<void> {
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { reason: why });
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    try {
      await stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return shutdown;
}

async function serveHttpMode(cfg: CliConfig, log: Logger, app: App): Promise<void> {
  const h = cfg.http!;
  let stopFrontDoor: () => Promise<unknown> = async () => undefined;
  onShutdown(log, async () => {
    await stopFrontDoor(); // stop taking requests first
    await app.close(); // then hand back leased import work
  });
  // Loaded only in HTTP mode: stdio start-up does not pay for the HTTP transport.
  const { serveHttp } = await import('./http.js');
  const served = await serveHttp(app, {
    host: h.host,
    port: h.port,
    allowedHosts: h.allowedHosts,
    allowedOrigins: h.allowedOrigins,
    stateless: h.stateless,
    maxBodyBytes: h.maxBodyBytes,
    rateLimit: h.rateLimit,
    readOnly: cfg.readOnly,
    version: VERSION,
    log,
  });
  stopFrontDoor = served.close;
  app.start();
  log.info('cloudport ready', { version: VERSION, data_dir: cfg.dataDir, transport: 'http', url: served.url, stateless: h.stateless, read_only: cfg.readOnly });
}

/** Ends the process with a clear startup error (never a stack trace, never a secret). */
function failStartup(e: unknown): never {
  const err = asCloudportError(e);
  process.stderr.write(
    JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'cloudport failed to start', kind: err.kind, error: redact(err.message), fix: err.fix }) + '\n',
  );
  process.stderr.write(`cloudport: ${redact(err.message)}${err.fix ? `\n  fix: ${err.fix}` : ''}\n`);
  process.exit(1);
}

main().catch(failStartup);
