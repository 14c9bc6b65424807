#!/usr/bin/env node
import fs from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App, AppConfig } from './core/app.js';
import { DEFAULT_ORG } from './core/domain/org.js';
import { authHelpText, helpText, keysHelpText, workerHelpText, parseCommandLine, shownArgument, type CliConfig, type CommandLine } from './config.js';
import { createServer } from './server.js';
import { CloudportError, asCloudportError } from './shared/errors.js';
import { carriesSecrets } from './shared/secure-url.js';
import { createLogger, type Logger, type LogLevel } from './shared/log.js';
import { redact } from './shared/redact.js';

/** The core (store, engine, providers) loads on demand: stdio answers the MCP handshake while it opens. */
const openApp = async (config: AppConfig): Promise<App> => (await import('./core/app.js')).App.open(config);

const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * stdio serves the machine's own user and is permissive. The HTTP front door and workers serve tenants:
 * both apply the strict policy unless the operator opts in, and the store keeps the front door's policy so
 * a worker started with other --allow-* flags refuses to start instead of downloading under looser rules.
 */
type Role = 'stdio' | 'front' | 'worker' | 'admin';

function appConfig(cfg: CliConfig, log: Logger, role: Role, concurrency = cfg.concurrency): AppConfig {
  return {
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    readOnly: cfg.readOnly,
    concurrency,
    maxConcurrency: concurrency === cfg.concurrency ? cfg.maxConcurrency : concurrency,
    ...(cfg.connectorConcurrency !== undefined ? { connectorConcurrency: cfg.connectorConcurrency } : {}),
    blobStore: cfg.blobStore,
    hashThreads: cfg.hashThreads,
    leaseMs: cfg.leaseMs,
    maxAttempts: cfg.maxAttempts,
    extract: cfg.extract,
    ...(cfg.sqliteMaxPageCount ? { sqliteMaxPageCount: cfg.sqliteMaxPageCount } : {}),
    pollMs: 250,
    idleTimeoutMs: cfg.idleTimeoutMs,
    browseBudgetMs: cfg.browseBudgetMs,
    retentionDays: cfg.retentionDays,
    env: process.env,
    log,
    // A worker serves no tools and ignores --toolsets; an MCP server without exports runs no export automation.
    ...(role !== 'worker' && cfg.toolsets && !cfg.toolsets.includes('exports') ? { exportAutomations: false } : {}),
    ...(role === 'front' || role === 'worker' ? { policy: cfg.policy, policyRole: role, warmProviders: true } : role === 'stdio' ? { policyRole: role } : { encryptsNothing: true }),
  };
}

/** `cloudport keys create|list|revoke`: API keys for the HTTP front door. */
async function keysCommand({ args, keys: flags, config: cfg }: CommandLine): Promise<void> {
  const [action, id, ...extra] = args;
  if (cfg.help) return void process.stdout.write(keysHelpText(VERSION));
  const usage = 'Use keys create --org NAME, keys list, or keys revoke ID (see cloudport keys --help).';
  if (action === undefined) throw new CloudportError('config_invalid', 'keys needs a command: create, list or revoke', { fix: usage });
  if (!['create', 'list', 'revoke'].includes(action)) throw new CloudportError('config_invalid', `unknown keys command ${JSON.stringify(action)}`, { fix: usage });
  if (action === 'create' && !flags.org) throw new CloudportError('config_invalid', 'keys create needs --org NAME', { field: '--org', fix: 'E.g. cloudport keys create --org acme.' });
  if (action === 'revoke' && id === undefined) throw new CloudportError('config_invalid', 'keys revoke needs a key id (see keys list)', { field: 'ID' });
  const surplus = action === 'revoke' ? extra[0] : (id ?? extra[0]);
  if (surplus !== undefined) throw new CloudportError('config_invalid', `unexpected argument ${shownArgument(surplus)} for keys ${action}`, { fix: usage });
  const app = await openApp(appConfig(cfg, createLogger('warn'), 'admin', 0));
  try {
    if (action === 'create') {
      const k = await app.keys.create(flags.org!, { readOnly: flags.readOnly, name: flags.name });
      // A new organization may be a mistyped name: say so, so that the admin sees it before handing out the key.
      const org = k.new_org ? `the new organization ${k.org} (no organization had this name; check it if you meant an existing one)` : `organization ${k.org}`;
      process.stdout.write(`created key ${k.id} for ${org}${k.read_only ? ' (read-only)' : ''}; it is shown only once:\n${k.key}\n`);
    } else if (action === 'list') {
      const all = await app.keys.list();
      if (!all.length) process.stdout.write('no API keys; create one with: cloudport keys create --org NAME\n');
      else process.stdout.write('id\torganization\tkey prefix\taccess\tcreated\tstatus\tname\n');
      for (const k of all) {
        process.stdout.write(`${k.id}\t${k.org}\t${k.prefix}…\t${k.read_only ? 'read-only' : 'read-write'}\t${k.created_at}\t${k.revoked_at ? `revoked ${k.revoked_at}` : 'active'}\t${k.name ?? ''}\n`);
      }
    } else {
      await app.keys.revoke(id!);
      process.stdout.write(`revoked ${id}\n`);
    }
  } finally {
    await app.close();
  }
}

/**
 * `cloudport auth google-drive`: the OAuth consent flow for google_drive oauth credentials. The refresh
 * token goes to stdout (its last line) or to --out FILE (0600), never to a store: the connector then
 * references it ({env} or {file}), so it need not pass through chat.
 */
async function authCommand({ args, auth, config: cfg }: CommandLine): Promise<void> {
  if (cfg.help) return void process.stdout.write(authHelpText(VERSION));
  const usage = 'Use cloudport auth google-drive --client-id ID --client-secret SECRET (see cloudport auth --help).';
  if (args[0] !== 'google-drive' || args.length > 1) throw new CloudportError('config_invalid', args[0] === undefined ? 'auth needs a provider: google-drive' : `unexpected argument ${shownArgument((args[0] === 'google-drive' ? args[1] : args[0])!)}`, { fix: usage });
  if (!auth.clientId) throw new CloudportError('config_invalid', 'auth google-drive needs --client-id', { field: '--client-id', fix: 'Create an OAuth client of type "Desktop app" (Google Cloud console → APIs & Services → Credentials) and give its id.' });
  if (!auth.clientSecret) throw new CloudportError('config_invalid', 'auth google-drive needs --client-secret', { field: '--client-secret', fix: 'Give the OAuth client\'s secret (or set GOOGLE_CLIENT_SECRET).' });
  for (const [flag, uri] of [['--auth-uri', auth.authUri], ['--token-uri', auth.tokenUri]] as const) {
    // The client secret and the code travel to these.
    if (uri !== undefined && !carriesSecrets(uri)) {
      throw new CloudportError('config_invalid', `${flag} must be an https URL (or http on 127.0.0.1)`, { field: flag });
    }
  }
  // The file is opened (made private) before the consent: a path that cannot be written must not lose the token given.
  let outFd: number | undefined;
  if (auth.out) {
    try {
      outFd = fs.openSync(auth.out, 'w', 0o600);
      fs.fchmodSync(outFd, 0o600);
    } catch (e) {
      throw new CloudportError('config_invalid', `--out ${auth.out} cannot be written (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { field: '--out', fix: 'Give a file in a folder that exists and that this user may write to, or leave --out out to have the token printed.' });
    }
  }
  const { runConsent } = await import('./core/connectors/consent.js');
  const got = await runConsent('google_drive', {
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
    write: auth.write,
    ...(auth.authUri ? { authUri: auth.authUri } : {}),
    ...(auth.tokenUri ? { tokenUri: auth.tokenUri } : {}),
    onUrl: (url) => process.stderr.write(`Open this URL in a browser and choose Allow (waiting up to 5 minutes):\n\n  ${url}\n\n`),
  });
  const credentials = (ref: string) => `{"type": "oauth", "client_id": ${JSON.stringify(auth.clientId)}, "client_secret": {"env": "GOOGLE_CLIENT_SECRET"}, "refresh_token": ${ref}}`;
  if (auth.out && outFd !== undefined) {
    // The file was made private before the token is written into it (an existing file keeps its mode on open).
    try {
      fs.writeSync(outFd, got.refreshToken + '\n');
    } finally {
      fs.closeSync(outFd);
    }
    process.stderr.write(`Consent given (scope ${got.scope}). The refresh token is in ${auth.out}. Connector credentials:\n  ${credentials(JSON.stringify({ file: auth.out }))}\n`);
    return;
  }
  process.stderr.write(`Consent given (scope ${got.scope}). Keep the refresh token below out of chat: set it where cloudport runs, e.g. GDRIVE_REFRESH_TOKEN, and give the connector\n  ${credentials('{"env": "GDRIVE_REFRESH_TOKEN"}')}\n`);
  process.stdout.write(got.refreshToken + '\n');
}

/**
 * `cloudport worker`: import work only (the job engine and maintenance), no MCP transport. Several
 * workers (and MCP servers, which run workers too) on one store divide the work with leases.
 * SIGTERM / SIGINT hand the leases back at once and exit 0.
 */
async function workerCommand(cfg: CliConfig): Promise<void> {
  if (cfg.help) return void process.stdout.write(workerHelpText(VERSION));
  if (cfg.http) throw new CloudportError('config_invalid', 'cloudport worker serves no MCP; --http (or CLOUDPORT_HTTP) does not apply', { field: '--http', fix: 'Run cloudport --http for a front door (it runs workers too), or drop --http / unset CLOUDPORT_HTTP for the worker.' });
  if (cfg.concurrency <= 0) throw new CloudportError('config_invalid', 'cloudport worker with --workers 0 (or CLOUDPORT_WORKERS=0) would do nothing', { field: '--workers', fix: 'Give --workers (or CLOUDPORT_WORKERS) 1 or more, or auto (the default).' });
  const log = createLogger(cfg.logLevel, { pid: process.pid, role: 'worker' });
  // Said, not refused: a deployment often gives its front door and its workers one environment.
  const mcpOnly = [cfg.readOnly && '--read-only', cfg.toolsets && '--toolsets'].filter(Boolean);
  if (mcpOnly.length) log.warn(`${mcpOnly.join(' and ')} ${mcpOnly.length > 1 ? 'apply' : 'applies'} to MCP servers; cloudport worker serves no MCP and ignores them`);
  guardRejections(log);
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.debug('process warning', { name: w.name, warning: w.message.split('\n')[0] }));
  const app = await openApp(appConfig(cfg, log, 'worker'));
  onShutdown(log, () => app.close()); // hands back leased import work
  app.start();
  log.info('cloudport worker ready', { version: VERSION, data_dir: cfg.dataDir, workers: cfg.maxConcurrency > cfg.concurrency ? `auto (${cfg.concurrency} to ${cfg.maxConcurrency})` : cfg.concurrency, connector_concurrency: cfg.connectorConcurrency ?? 'every slot', blob_store: app.blobs.location });
}

async function main(): Promise<void> {
  const line = parseCommandLine(process.argv.slice(2), process.env);
  const cfg = line.config;
  if (cfg.version) return void process.stdout.write(VERSION + '\n');
  if (line.command === 'keys') return keysCommand(line);
  if (line.command === 'auth') return authCommand(line);
  // The servers' stderr is a JSON log: a startup error is logged there as well (if the level allows).
  serverLogLevel = cfg.logLevel;
  if (line.command === 'worker') return workerCommand(cfg);
  if (cfg.help) return void process.stdout.write(helpText(VERSION));
  const log = createLogger(cfg.logLevel, { pid: process.pid });
  guardRejections(log);
  // Process warnings (e.g. the AWS SDK's Node version notice) go through the JSON log, not as free text on stderr.
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.debug('process warning', { name: w.name, warning: w.message.split('\n')[0] }));
  if (cfg.http) return serveHttpMode(cfg, log, await openApp(appConfig(cfg, log, 'front')));

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
    // The SDK answers the call from its own handle on the promise; this one only forgets it, and must
    // never turn a rejection into an unhandled one (that would end the process).
    const forget = () => void calls.delete(call);
    call.then(forget, forget);
  };
  const server = createServer(ready, { org: DEFAULT_ORG, readOnly: cfg.readOnly, toolsets: cfg.toolsets, version: VERSION, log, track });
  const shutdown = onShutdown(log, async () => {
    // Input ended (or a signal): answer what was asked (a piped session sends its requests, then EOF),
    // then stop taking requests and hand back leased import work.
    const app = await ready.catch(failStartup);
    await Promise.allSettled([...calls]);
    await new Promise((resolve) => setImmediate(resolve)); // the SDK sends each answer a few microtasks later
    await server.close();
    await app.close();
  }, ready, () => void ready.then((app) => app.jobs.endWaits(), () => undefined));
  process.stdin.on('end', () => void shutdown('stdin closed'));
  const stdio = new StdioServerTransport();
  await server.connect(stdio);
  answerMalformedLines(stdio);
  const app = await openApp(appConfig(cfg, log, 'stdio')).catch(async (e) => {
    // Calls answer with the core's error (an agent reads no stderr), then the process ends: those waiting
    // now, and those a client sends next (a core can fail before its first call arrives), for a moment.
    rejectApp(e);
    await Promise.race([new Promise((resolve) => process.stdin.once('end', resolve)), new Promise((resolve) => setTimeout(resolve, STARTUP_ERROR_GRACE_MS))]);
    await Promise.allSettled([...calls]);
    await new Promise((resolve) => setImmediate(resolve)); // the SDK sends each answer a few microtasks later
    await new Promise((resolve) => process.stdout.write('', resolve));
    throw e;
  });
  resolveApp(app);
  app.start();
  log.info('cloudport ready', { version: VERSION, data_dir: cfg.dataDir, read_only: cfg.readOnly, toolsets: cfg.toolsets ?? 'all', transport: 'stdio' });
}

/**
 * A promise rejected with no handler is a fault of ours, but it concerns one request: it is logged and the
 * server goes on serving the others, instead of Node ending the process (and every session) for it.
 */
function guardRejections(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
    // Stacks go only to the debug log.
    if (reason instanceof Error) log.debug('unhandled rejection: stack', { stack: reason.stack });
  });
}

/**
 * A line on stdin that is no JSON-RPC message gets JSON-RPC's answer (-32700 for no JSON, -32600 for
 * JSON that is no message, `id` null as it cannot be read), where the SDK only reports it to the
 * server: a client that sent a broken line learns of it instead of waiting. The line is not echoed.
 */
function answerMalformedLines(transport: StdioServerTransport): void {
  // After connect: the server's own onerror (which logs) still runs, after the answer.
  const reported = transport.onerror;
  transport.onerror = (e: Error) => {
    const code = e instanceof SyntaxError ? -32700 : e.name === 'ZodError' || Array.isArray((e as { issues?: unknown }).issues) ? -32600 : null;
    if (code !== null) {
      const message = code === -32700 ? 'Parse error: a line that is not JSON (each message is one line of JSON)' : 'Invalid Request: a line of JSON that is no JSON-RPC 2.0 request, notification or response';
      void transport.send({ jsonrpc: '2.0', id: null, error: { code, message } } as never).catch(() => undefined);
    }
    reported?.(e);
  };
}

/**
 * Installs SIGTERM / SIGINT handlers that run `stop` once and exit 0 (forced after 10 s); returns the
 * trigger. The 10 s count from `opened` settling: a store still connecting (PostgreSQL gives up after
 * 10 s) ends in its own startup error and exit 1, not in a forced exit 0 that says nothing of it.
 */
function onShutdown(log: Logger, stop: () => Promise<void>, opened?: Promise<unknown>, hurry?: () => void): (why: string) => Promise<void> {
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { reason: why });
    await opened?.then(
      () => undefined,
      () => undefined,
    );
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    try {
      await stop();
    } finally {
      process.exit(0);
    }
  };
  // A signal asks to stop now: long polls answer at once (also when input ended first and the shutdown
  // is waiting for them), so the calls in flight end and the leases go back before a SIGKILL follows.
  const signal = (why: string) => {
    hurry?.();
    void shutdown(why);
  };
  process.on('SIGTERM', () => signal('SIGTERM'));
  process.on('SIGINT', () => signal('SIGINT'));
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
    authFailureLimit: h.authFailureLimit,
    maxSessionsPerKey: h.maxSessionsPerKey,
    bodyTimeoutMs: h.bodyTimeoutMs,
    sessionIdleMs: h.sessionIdleMs,
    readOnly: cfg.readOnly,
    toolsets: cfg.toolsets,
    version: VERSION,
    log,
  });
  stopFrontDoor = served.close;
  await app.recordFrontDoorPolicy();
  app.start();
  log.info('cloudport ready', { version: VERSION, data_dir: cfg.dataDir, transport: 'http', url: served.url, stateless: h.stateless, read_only: cfg.readOnly, toolsets: cfg.toolsets ?? 'all' });
}

/** How long a stdio server whose core failed to open keeps answering calls with that error before it exits 1. */
const STARTUP_ERROR_GRACE_MS = 3000;

/** The log level of a server mode once its settings are read; null for the command-line tools (keys) and flag errors. */
let serverLogLevel: LogLevel | null = null;

/**
 * Ends the process with a clear startup error (never a stack trace, never a secret): one line for the
 * person at the terminal, and for a server, whose stderr is a JSON log, the same error as a log record
 * if its level allows.
 */
function failStartup(e: unknown): never {
  const err = asCloudportError(e);
  if (serverLogLevel) createLogger(serverLogLevel).error('cloudport failed to start', { kind: err.kind, error: err.message, fix: err.fix });
  process.stderr.write(`cloudport: ${redact(err.message)}${err.fix ? ` (fix: ${redact(err.fix)})` : ''}\n`);
  process.exit(1);
}

main().catch(failStartup);
