import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { CloudportError } from './shared/errors.js';
import { LOG_LEVELS, type LogLevel } from './shared/log.js';
import { TOOLSET_NAMES, type Toolset } from './tools/toolsets.js';
import type { HttpOptions } from './http.js';

/**
 * Files one process imports at once. 16: small objects are latency-bound (a request, a hash, a
 * commit), and 16 in flight keep the event loop busy where 8 left it idle a sixth of the time.
 */
export const DEFAULT_WORKERS = 16;
/** Without --workers, the files worked at once adapt from DEFAULT_WORKERS up to this many (AdaptiveConcurrency). */
export const MAX_AUTO_WORKERS = 64;

/** Every setting: a flag, its environment variable, its default. The README's configuration table mirrors this list. */
export const SETTINGS = [
  { flag: '--data-dir', env: 'CLOUDPORT_DATA_DIR', default: '~/.cloudport', help: 'Where the SQLite store, master.key and imported content live.' },
  { flag: '--database-url', env: 'CLOUDPORT_DATABASE_URL', default: 'SQLite in the data dir', help: 'postgres://user@host:5432/db[?schema=name]: PostgreSQL store shared by processes on several hosts.' },
  { flag: '--read-only', env: 'CLOUDPORT_READ_ONLY', default: 'off', help: 'List only read-only tools and refuse any other call.' },
  { flag: '--toolsets', env: 'CLOUDPORT_TOOLSETS', default: 'all', help: `Expose only these tool groups (comma-separated): ${TOOLSET_NAMES.join(', ')}. Job tools (import_status, list_imports, import_logs, cancel_import) come with imports, exports or search; other tools are refused.` },
  { flag: '--log-level', env: 'CLOUDPORT_LOG_LEVEL', default: 'info', help: 'debug, info, warn, error or silent. JSON lines on stderr.' },
  { flag: '--workers', env: 'CLOUDPORT_WORKERS', default: 'auto', help: 'Files this process imports at once (0: run no import work here). auto: 16, raised up to 64 while files wait on a distant service. --concurrency / CLOUDPORT_CONCURRENCY is the older name.' },
  { flag: '--connector-concurrency', env: 'CLOUDPORT_CONNECTOR_CONCURRENCY', default: 'every slot', help: 'At most this many of those files from one connector at once, so one connector cannot take every slot.' },
  { flag: '--blob-store', env: 'CLOUDPORT_BLOB_STORE', default: '<data-dir>/blobs', help: 'Where imported content lives: a local directory, or s3://bucket/prefix shared by workers on several hosts.' },
  { flag: '--blob-store-endpoint', env: 'CLOUDPORT_BLOB_STORE_ENDPOINT', default: 'AWS', help: 'S3 blob store: endpoint of an S3-compatible server (MinIO, R2, …; path-style).' },
  { flag: '--blob-store-region', env: 'CLOUDPORT_BLOB_STORE_REGION', default: 'us-east-1', help: 'S3 blob store: region. Credentials: CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, else the AWS default chain.' },
  { flag: '--http', env: 'CLOUDPORT_HTTP', default: 'off', help: 'Serve MCP over Streamable HTTP at /mcp (API keys, organizations) instead of stdio.' },
  { flag: '--host', env: 'CLOUDPORT_HOST', default: '127.0.0.1', help: 'HTTP: address to bind.' },
  { flag: '--port', env: 'CLOUDPORT_PORT', default: '8787', help: 'HTTP: port (0 picks a free one).' },
  { flag: '--stateless', env: 'CLOUDPORT_STATELESS', default: 'off', help: 'HTTP: no MCP sessions (every request stands alone).' },
  { flag: '--allowed-hosts', env: 'CLOUDPORT_ALLOWED_HOSTS', default: 'bound host, localhost forms', help: 'HTTP: Host headers accepted (comma-separated name or name:port; a bare name also admits :80 and :443); others get 403.' },
  { flag: '--allowed-origins', env: 'CLOUDPORT_ALLOWED_ORIGINS', default: 'the same, as http(s) origins', help: 'HTTP: Origin headers accepted; others get 403.' },
  { flag: '--allow-env-refs', env: 'CLOUDPORT_ALLOW_ENV_REFS', default: 'none (HTTP, worker)', help: 'HTTP and worker: environment variables {env} references may name (comma-separated, * wildcards).' },
  { flag: '--allow-file-refs', env: 'CLOUDPORT_ALLOW_FILE_REFS', default: 'none (HTTP, worker)', help: 'HTTP and worker: directories {file} references may read (comma-separated).' },
  { flag: '--allow-ambient-credentials', env: 'CLOUDPORT_ALLOW_AMBIENT_CREDENTIALS', default: 'off (HTTP, worker)', help: "HTTP and worker: allow the host's own cloud identity (default chains, roles without base keys)." },
  { flag: '--allow-private-endpoints', env: 'CLOUDPORT_ALLOW_PRIVATE_ENDPOINTS', default: 'off (HTTP, worker)', help: 'HTTP and worker: allow endpoints on loopback/private/link-local addresses.' },
  { flag: '--allow-endpoint-cidr', env: 'CLOUDPORT_ALLOW_ENDPOINT_CIDR', default: 'none', help: 'HTTP and worker: private ranges allowed anyway (comma-separated CIDRs, e.g. 10.1.2.0/24 for MinIO).' },
  { flag: '--max-body-bytes', env: 'CLOUDPORT_MAX_BODY_BYTES', default: '1048576', help: 'HTTP: larger request bodies get 413.' },
  { flag: '--rate-limit', env: 'CLOUDPORT_RATE_LIMIT', default: '600', help: 'HTTP: JSON-RPC requests per minute per key (each request of a batch counts); beyond it 429 with Retry-After.' },
  { flag: '--auth-failure-limit', env: 'CLOUDPORT_AUTH_FAILURE_LIMIT', default: '20', help: 'HTTP: failed authentications per minute per remote address; beyond it 429 with Retry-After (keys that authenticated recently still pass).' },
  { flag: '--max-sessions-per-key', env: 'CLOUDPORT_MAX_SESSIONS_PER_KEY', default: '100', help: "HTTP: MCP sessions one key holds; a new one beyond it closes the key's least recently used session." },
  { flag: '(env only)', env: 'CLOUDPORT_MASTER_KEY', default: 'generated', help: '32 bytes, base64: encrypts stored credentials. Default: generated once into <data-dir>/master.key (0600).' },
  { flag: '(env only)', env: 'CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID', default: 'AWS default chain', help: 'S3 blob store: access key id, with CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY (and optionally _SESSION_TOKEN). Never logged.' },
  { flag: '(env only)', env: 'CLOUDPORT_HASH_THREADS', default: 'cores - 1 (1 to 4)', help: 'Threads that hash and write downloads (0: on the main thread).' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT', default: 'on', help: 'Text extraction on import for search (off: items get no text until reindex_index).' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_THREADS', default: 'cores - 1 (1 to 4)', help: 'Threads that extract text, each with its own heap limit.' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_MAX_TEXT_BYTES', default: '2097152', help: 'Bytes of text kept per item; beyond it text_status is truncated.' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_MAX_PAGES', default: '2000', help: 'PDF pages read per item.' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_TIMEOUT_MS', default: '10000', help: 'Time per item; a document that takes longer gets text_status failed.' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_MAX_INPUT_BYTES', default: '67108864', help: 'Documents (PDF, DOCX, XLSX, HTML, XML) larger than this are not opened.' },
  { flag: '(env only)', env: 'CLOUDPORT_EXTRACT_MAX_INFLATED_BYTES', default: '67108864', help: 'What a DOCX or XLSX may inflate to (zip bombs), with CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES (10000).' },
  { flag: '(env only)', env: 'CLOUDPORT_LEASE_MS', default: '30000', help: 'Lease on a unit of import work; a crashed process\'s work is taken over after it.' },
  { flag: '(env only)', env: 'CLOUDPORT_MAX_ATTEMPTS', default: '5', help: 'Tries of one file (its worker died holding it, or it was handed back for a retry) before it fails with "gave up after N attempts".' },
  { flag: '(env only)', env: 'CLOUDPORT_IDLE_TIMEOUT_MS', default: '30000', help: 'A download that receives nothing for this long is resumed.' },
  { flag: '(env only)', env: 'CLOUDPORT_BROWSE_BUDGET_MS', default: '10000', help: 'Time budget of one browse_connector page.' },
  { flag: '(env only)', env: 'CLOUDPORT_RETENTION_DAYS', default: '30', help: 'Finished imports and their logs are pruned after this many days.' },
  { flag: '(env only)', env: 'CLOUDPORT_BODY_TIMEOUT_MS', default: '30000', help: 'HTTP: an authenticated request body must arrive within this time; else 408 and the connection is closed.' },
  { flag: '(env only)', env: 'CLOUDPORT_SESSION_IDLE_MS', default: '1800000', help: 'HTTP: an MCP session without a request (and without an open stream) for this long is closed.' },
  { flag: '(env only)', env: 'CLOUDPORT_SQLITE_MAX_PAGE_COUNT', default: 'none', help: 'Tests only: the SQLite store may not grow past this many pages, so a test sees a full store without filling a disk.' },
  { flag: '(env only)', env: 'CLOUDPORT_MIN_INTERVAL_MS', default: '60000', help: 'Shortest allowed gap between automation runs (lower it only for tests).' },
] as const;

export interface CliConfig {
  dataDir: string;
  /** postgres://… for the PostgreSQL store; null: SQLite in dataDir. */
  databaseUrl: string | null;
  readOnly: boolean;
  /** The tool groups exposed (--toolsets); null: all. */
  toolsets: Toolset[] | null;
  logLevel: LogLevel;
  /** Files worked at once by this process (--workers; --concurrency is the older name); with auto, where it starts. */
  concurrency: number;
  /** The most files worked at once: above `concurrency` (--workers auto), the number adapts between the two. */
  maxConcurrency: number;
  /** At most this many files of one connector at once in this process (unset: every slot). */
  connectorConcurrency?: number;
  blobStore: BlobStoreConfig;
  /** Threads that hash and write downloads; 0: the main thread does. */
  hashThreads: number;
  leaseMs: number;
  /** Claims of one file before it fails for good. */
  maxAttempts: number;
  /** Text extraction: its limits (reindex_index uses them too) and whether imports extract. */
  extract: ExtractConfig;
  /** Tests only: caps the SQLite store's size in pages (0: no cap). */
  sqliteMaxPageCount: number;
  idleTimeoutMs: number;
  browseBudgetMs: number;
  retentionDays: number;
  minIntervalMs: number;
  http: HttpConfig | null;
  /** What tenants may make the server do; applied by the HTTP front door and by workers (stdio is permissive). */
  policy: TenantPolicyConfig;
  help: boolean;
  version: boolean;
}

/** Where imported content lives. Credentials of an S3 blob store are read from the environment on use, never kept here. */
export type BlobStoreConfig =
  | { kind: 'local'; dir: string | null }
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string | null; region: string };

/** The HTTP front door's settings (documented where they are used, in http.ts). */
export type HttpConfig = Omit<HttpOptions, 'readOnly' | 'toolsets' | 'version' | 'log'>;

export interface TenantPolicyConfig {
  envRefs: string[];
  fileRefs: string[];
  ambientCredentials: boolean;
  privateEndpoints: boolean;
  endpointCidrs: string[];
}

const list = (v: string | undefined): string[] | null => (v === undefined ? null : v.split(',').map((s) => s.trim()).filter(Boolean));

function int(name: string, value: string | undefined, def: number, min: number, max: number, or = ''): number {
  if (value === undefined || value === '') return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CloudportError('config_invalid', `${name} must be an integer from ${min} to ${max}${or} (got ${JSON.stringify(value)})`, { field: name });
  }
  return n;
}

function num(name: string, value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined || value === '') return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new CloudportError('config_invalid', `${name} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`, { field: name });
  return n;
}

/**
 * Runs a check written in terms of its flags (`--blob-store`, `--blob-store-endpoint` …) and reports an
 * error under the environment variable each value came from when the flag was not given.
 */
function underSource<T>(sources: [flag: string, env: string, fromFlag: unknown][], check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof CloudportError)) throw e;
    const src = sources.find(([flag]) => e.field === flag);
    if (!src || src[2] !== undefined) throw e;
    const [flag, envName] = src;
    throw new CloudportError(e.kind, e.message.split(flag).join(envName), { field: envName, ...(e.fix ? { fix: e.fix.split(flag).join(envName) } : {}) });
  }
}

function checkCidrs(cidrs: string[]): string[] {
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const family = isIP(addr ?? '');
    const max = family === 6 ? 128 : 32;
    if (!family || (bits !== undefined && !(Number.isInteger(Number(bits)) && Number(bits) >= 0 && Number(bits) <= max))) {
      throw new CloudportError('config_invalid', `--allow-endpoint-cidr: ${JSON.stringify(c)} is not a CIDR`, { field: '--allow-endpoint-cidr', fix: 'E.g. 10.1.2.0/24 or fd00::/8.' });
    }
  }
  return cidrs;
}

/**
 * --workers N (CLOUDPORT_WORKERS) is the number of files this process works at once; --concurrency
 * (CLOUDPORT_CONCURRENCY) is its older name and still works. A flag beats the environment; giving both
 * flags with different values is an error rather than a silent pick. Unset or `auto`: the number adapts
 * (`auto: true`), starting at DEFAULT_WORKERS; a number is kept as given.
 */
function parseWorkers(workersFlag: string | undefined, concurrencyFlag: string | undefined, env: NodeJS.ProcessEnv): { n: number; auto: boolean } {
  const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
  if (workersFlag !== undefined && concurrencyFlag !== undefined && !same(workersFlag, concurrencyFlag)) {
    throw new CloudportError('config_invalid', '--workers and --concurrency are the same setting; give one of them', { field: '--workers', fix: 'Drop --concurrency (the older name).' });
  }
  const flag = workersFlag ?? concurrencyFlag;
  const [name, value] =
    flag !== undefined
      ? [workersFlag !== undefined ? '--workers' : '--concurrency', flag]
      : env.CLOUDPORT_WORKERS !== undefined && env.CLOUDPORT_WORKERS !== ''
        ? ['CLOUDPORT_WORKERS', env.CLOUDPORT_WORKERS]
        : ['CLOUDPORT_CONCURRENCY', env.CLOUDPORT_CONCURRENCY];
  if (value === undefined || value === '' || value.trim().toLowerCase() === 'auto') return { n: DEFAULT_WORKERS, auto: true };
  return { n: int(name, value, DEFAULT_WORKERS, 0, 256, ' or auto'), auto: false };
}

function parseBlobStore(spec: string | undefined, endpoint: string | undefined, region: string | undefined): BlobStoreConfig {
  if (!spec) {
    if (endpoint) throw new CloudportError('config_invalid', '--blob-store-endpoint needs --blob-store s3://bucket/prefix', { field: '--blob-store-endpoint' });
    return { kind: 'local', dir: null };
  }
  if (!/^s3:\/\//i.test(spec)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
      throw new CloudportError('config_invalid', `--blob-store: only local directories and s3://bucket/prefix are supported (got ${JSON.stringify(spec.split('://')[0] + '://…')})`, { field: '--blob-store' });
    }
    return { kind: 'local', dir: path.resolve(spec.startsWith('~/') ? path.join(os.homedir(), spec.slice(2)) : spec) };
  }
  const rest = spec.slice(5);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new CloudportError('config_invalid', `--blob-store: ${JSON.stringify(bucket)} is not an S3 bucket name`, { field: '--blob-store', fix: 'Use s3://bucket/prefix, e.g. s3://acme-cloudport/blobs.' });
  }
  if (endpoint !== undefined && endpoint !== '') {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new CloudportError('config_invalid', '--blob-store-endpoint is not a URL', { field: '--blob-store-endpoint', fix: 'E.g. http://127.0.0.1:9000 for MinIO.' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CloudportError('config_invalid', '--blob-store-endpoint must be http(s)', { field: '--blob-store-endpoint' });
    if (u.username || u.password) throw new CloudportError('config_invalid', '--blob-store-endpoint must not carry credentials', { field: '--blob-store-endpoint', fix: 'Use CLOUDPORT_BLOB_STORE_ACCESS_KEY_ID / CLOUDPORT_BLOB_STORE_SECRET_ACCESS_KEY.' });
  }
  return { kind: 's3', bucket, prefix, endpoint: endpoint || null, region: region || 'us-east-1' };
}

/** Only the scheme is checked here (the PostgreSQL driver loads when the store opens); the URL itself never appears in an error. */
function parseDatabaseUrl(v: string | undefined, name = '--database-url'): string | null {
  if (v === undefined || v === '') return null;
  if (!/^postgres(ql)?:\/\/[^/]/i.test(v)) {
    throw new CloudportError('config_invalid', `${name} must be a postgres:// URL`, { field: name, fix: 'E.g. postgres://cloudport@db.internal:5432/cloudport (password in PGPASSWORD or the URL).' });
  }
  return v;
}

/** --toolsets: known names only, so a typo is a startup error rather than a server that quietly lacks tools. */
function parseToolsets(v: string | undefined, name = '--toolsets'): Toolset[] | null {
  if (v === undefined) return null;
  const names = [...new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
  const valid = `Valid toolsets: ${TOOLSET_NAMES.join(', ')} (comma-separated; leave the setting out for all).`;
  if (!names.length) throw new CloudportError('config_invalid', `${name} names no toolset`, { field: name, fix: valid });
  const unknown = names.filter((n) => !(TOOLSET_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new CloudportError('config_invalid', `${name}: unknown toolset${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}`, { field: name, fix: valid });
  return names as Toolset[];
}

/**
 * A boolean environment variable: unset or empty is false; anything but 1/0, true/false, yes/no, on/off
 * is a startup error, so that a typo in CLOUDPORT_READ_ONLY cannot quietly expose every write tool.
 */
function truthy(name: string, v: string | undefined): boolean {
  if (v === undefined || v === '') return false;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new CloudportError('config_invalid', `${name} must be true or false`, { field: name, fix: `Set ${name} to 1, true, yes or on (or 0, false, no, off), or leave it unset.` });
}

/** An integer setting, reported under the name it came from. */
const intSetting = (s: { v: string | undefined; name: string }, def: number, min: number, max: number) => int(s.name, s.v, def, min, max);

/** A setting's value and the name to report it under: the flag when given, else the environment variable. */
function setting<T>(flag: string, fromFlag: T | undefined, envName: string, fromEnv: string | undefined): { v: T | string | undefined; name: string } {
  return fromFlag !== undefined ? { v: fromFlag, name: `--${flag}` } : { v: fromEnv, name: envName };
}

/** The flags every mode takes (the server's settings); subcommands take them too, before or after their name. */
const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'read-only': { type: 'boolean' },
  toolsets: { type: 'string' },
  'log-level': { type: 'string' },
  concurrency: { type: 'string' },
  workers: { type: 'string' },
  'connector-concurrency': { type: 'string' },
  'blob-store': { type: 'string' },
  'blob-store-endpoint': { type: 'string' },
  'blob-store-region': { type: 'string' },
  http: { type: 'boolean' },
  host: { type: 'string' },
  port: { type: 'string' },
  stateless: { type: 'boolean' },
  'allowed-hosts': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'allow-env-refs': { type: 'string' },
  'allow-file-refs': { type: 'string' },
  'allow-ambient-credentials': { type: 'boolean' },
  'allow-private-endpoints': { type: 'boolean' },
  'allow-endpoint-cidr': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'rate-limit': { type: 'string' },
  'auth-failure-limit': { type: 'string' },
  'max-sessions-per-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;
/** Flags of `keys create` (its --read-only is the global flag, read as "a read-only key"). */
const KEYS_OPTIONS = { org: { type: 'string' }, name: { type: 'string' } } as const;
/** Flags of `auth google-drive` (the OAuth consent flow). */
const AUTH_OPTIONS = {
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  write: { type: 'boolean' },
  out: { type: 'string' },
  'auth-uri': { type: 'string' },
  'token-uri': { type: 'string' },
} as const;

type GlobalValues = ReturnType<typeof parseArgs<{ options: typeof GLOBAL_OPTIONS; strict: true }>>['values'];

/** parseArgs throws plain errors ("Unknown option '--x'"); they are the user's input errors. */
function parseFlags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof CloudportError) throw e;
    // Node's parser quotes a stray argument, which may be a secret given without its flag.
    const message = (e as Error).message.replace(/Unexpected argument '(.*?)'\./s, (_, a: string) => `unexpected argument ${shownArgument(a)}.`);
    // An unknown flag: its name and the closest known one (Node's advice about positional arguments does not apply).
    const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(message)?.[1];
    if (unknown) {
      const meant = closestFlag(unknown);
      throw new CloudportError('config_invalid', `unknown flag ${unknown}`, { field: unknown, fix: meant ? `Did you mean ${meant}? See cloudport --help.` : 'See cloudport --help for the flags.' });
    }
    throw new CloudportError('config_invalid', message, { fix: 'See cloudport --help.' });
  }
}

/**
 * A stray argument as an error may quote it: a word (a misspelled subcommand) is shown; anything else is
 * not, since it may be a secret whose flag was left out (`--client-id X S3cret`).
 */
export function shownArgument(a: string): string {
  return /^[A-Za-z][A-Za-z0-9_-]{0,23}$/.test(a) && !(/[A-Z]/.test(a) && /[0-9]/.test(a)) ? JSON.stringify(a) : `(${a.length} characters, not shown: it may be a secret given without its flag)`;
}

/** The known flag nearest a misspelled one: the same without dashes, or within two edits. */
function closestFlag(given: string): string | null {
  const norm = (s: string) => s.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  const names = Object.keys({ ...GLOBAL_OPTIONS, ...KEYS_OPTIONS, ...AUTH_OPTIONS });
  const g = norm(given);
  const same = names.find((n) => norm(n) === g);
  if (same) return `--${same}`;
  let best: { n: string; d: number } | null = null;
  for (const n of names) {
    const d = editDistance(g, norm(n));
    if (d <= 2 && (!best || d < best.d)) best = { n, d };
  }
  return best ? `--${best.n}` : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export const COMMANDS = ['keys', 'worker', 'auth'] as const;

export interface CommandLine {
  /** serve: MCP over stdio or HTTP; keys: API key administration; worker: import work only. */
  command: 'serve' | (typeof COMMANDS)[number];
  /** What follows the command's name (e.g. `create`, or `revoke ID`), flags taken out. */
  args: string[];
  /** `keys create` flags; readOnly is the --read-only flag itself (CLOUDPORT_READ_ONLY is the server's setting, not a key's). */
  keys: { org?: string; name?: string; readOnly: boolean };
  /** `auth google-drive` flags. */
  auth: { clientId?: string; clientSecret?: string; write: boolean; out?: string; authUri?: string; tokenUri?: string };
  config: CliConfig;
}

/**
 * The whole command line: the subcommand is the first word that is not a flag or a flag's value, so
 * global flags work before or after it (`cloudport --data-dir D keys list`, `cloudport keys list --data-dir D`).
 */
export function parseCommandLine(argv: string[], rawEnv: NodeJS.ProcessEnv): CommandLine {
  const env = withoutEmpty(rawEnv);
  const { values, positionals } = parseFlags(() => parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...KEYS_OPTIONS, ...AUTH_OPTIONS }, strict: true, allowPositionals: true }));
  const [first, ...args] = positionals;
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    throw new CloudportError('config_invalid', `unknown command ${JSON.stringify(first)}`, { fix: 'Commands: keys, worker, auth; with none, cloudport serves MCP. See cloudport --help.' });
  }
  const command = (first ?? 'serve') as CommandLine['command'];
  if (command !== 'keys' && command !== 'auth' && args.length) throw new CloudportError('config_invalid', `unexpected argument ${shownArgument(args[0]!)}`, { fix: 'See cloudport --help.' });
  for (const [own, options] of [['keys', KEYS_OPTIONS], ['auth', AUTH_OPTIONS]] as const) {
    if (command === own) continue;
    for (const f of Object.keys(options)) if (f in values) throw new CloudportError('config_invalid', `--${f} applies to cloudport ${own === 'keys' ? 'keys create' : 'auth google-drive'} only`, { field: `--${f}` });
  }
  const { org, name, 'client-id': clientId, 'client-secret': clientSecret, write, out, 'auth-uri': authUri, 'token-uri': tokenUri, ...global } = values;
  return {
    command,
    args,
    keys: { org, name, readOnly: values['read-only'] === true },
    auth: { clientId: clientId ?? env.GOOGLE_CLIENT_ID, clientSecret: clientSecret ?? env.GOOGLE_CLIENT_SECRET, write: write === true, out, authUri, tokenUri },
    // --help and --version answer whatever the environment holds: help is where a user finds the valid values.
    config: values.help || values.version ? configOrDefaults(global, env) : configFrom(global, env),
  };
}

function configOrDefaults(values: GlobalValues, env: NodeJS.ProcessEnv): CliConfig {
  try {
    return configFrom(values, env);
  } catch {
    return configFrom({ help: values.help, version: values.version } as GlobalValues, {});
  }
}

/** CLOUDPORT_* variables set to "" count as unset (a client config's empty "env" entry), as for flags left out. */
function withoutEmpty(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => !(k.startsWith('CLOUDPORT_') && v === '')));
}

/** The server's settings from flags (no subcommand) and the environment. */
export function parseConfig(argv: string[], rawEnv: NodeJS.ProcessEnv): CliConfig {
  const env = withoutEmpty(rawEnv);
  const { values } = parseFlags(() => parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: true, allowPositionals: false }));
  return configFrom(values, env);
}

export interface ExtractConfig {
  /** Imports extract (CLOUDPORT_EXTRACT=off: they do not; reindex_index still does). */
  onImport: boolean;
  threads: number;
  maxTextBytes: number;
  maxPages: number;
  timeoutMs: number;
  maxInputBytes: number;
  maxInflatedBytes: number;
  maxZipEntries: number;
}

function parseExtract(env: NodeJS.ProcessEnv): ExtractConfig {
  return {
    // A boolean like the others (1/0, true/false, yes/no, on/off); unset: on.
    onImport: env.CLOUDPORT_EXTRACT === undefined || truthy('CLOUDPORT_EXTRACT', env.CLOUDPORT_EXTRACT),
    threads: int('CLOUDPORT_EXTRACT_THREADS', env.CLOUDPORT_EXTRACT_THREADS, Math.max(1, Math.min(4, os.availableParallelism() - 1)), 1, 16),
    maxTextBytes: int('CLOUDPORT_EXTRACT_MAX_TEXT_BYTES', env.CLOUDPORT_EXTRACT_MAX_TEXT_BYTES, 2 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    maxPages: int('CLOUDPORT_EXTRACT_MAX_PAGES', env.CLOUDPORT_EXTRACT_MAX_PAGES, 2000, 1, 1_000_000),
    timeoutMs: int('CLOUDPORT_EXTRACT_TIMEOUT_MS', env.CLOUDPORT_EXTRACT_TIMEOUT_MS, 10_000, 100, 600_000),
    maxInputBytes: int('CLOUDPORT_EXTRACT_MAX_INPUT_BYTES', env.CLOUDPORT_EXTRACT_MAX_INPUT_BYTES, 64 * 1024 * 1024, 1024, 2 ** 40),
    maxInflatedBytes: int('CLOUDPORT_EXTRACT_MAX_INFLATED_BYTES', env.CLOUDPORT_EXTRACT_MAX_INFLATED_BYTES, 64 * 1024 * 1024, 1024, 2 ** 40),
    maxZipEntries: int('CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES', env.CLOUDPORT_EXTRACT_MAX_ZIP_ENTRIES, 10_000, 1, 10_000_000),
  };
}

function configFrom(values: GlobalValues, env: NodeJS.ProcessEnv): CliConfig {
  const rawDir = values['data-dir'] ?? env.CLOUDPORT_DATA_DIR ?? path.join(os.homedir(), '.cloudport');
  const dataDir = path.resolve(rawDir.startsWith('~/') ? path.join(os.homedir(), rawDir.slice(2)) : rawDir);
  const level = setting('log-level', values['log-level'], 'CLOUDPORT_LOG_LEVEL', env.CLOUDPORT_LOG_LEVEL);
  const logLevel = (level.v ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new CloudportError('config_invalid', `${level.name} must be one of ${LOG_LEVELS.join(', ')}`, { field: level.name });
  const dbUrl = setting('database-url', values['database-url'], 'CLOUDPORT_DATABASE_URL', env.CLOUDPORT_DATABASE_URL);
  const toolsets = setting('toolsets', values.toolsets, 'CLOUDPORT_TOOLSETS', env.CLOUDPORT_TOOLSETS || undefined);
  const port = setting('port', values.port, 'CLOUDPORT_PORT', env.CLOUDPORT_PORT);
  const workers = parseWorkers(values.workers, values.concurrency, env);
  const connectorConcurrency = values['connector-concurrency'] ?? env.CLOUDPORT_CONNECTOR_CONCURRENCY;
  const httpSettings: HttpConfig = {
    host: values.host ?? env.CLOUDPORT_HOST ?? '127.0.0.1',
    port: intSetting(port, 8787, 0, 65535),
    stateless: values.stateless ?? truthy('CLOUDPORT_STATELESS', env.CLOUDPORT_STATELESS),
    allowedHosts: list(values['allowed-hosts'] ?? env.CLOUDPORT_ALLOWED_HOSTS),
    allowedOrigins: list(values['allowed-origins'] ?? env.CLOUDPORT_ALLOWED_ORIGINS),
    maxBodyBytes: intSetting(setting('max-body-bytes', values['max-body-bytes'], 'CLOUDPORT_MAX_BODY_BYTES', env.CLOUDPORT_MAX_BODY_BYTES), 1024 * 1024, 1024, 64 * 1024 * 1024),
    rateLimit: intSetting(setting('rate-limit', values['rate-limit'], 'CLOUDPORT_RATE_LIMIT', env.CLOUDPORT_RATE_LIMIT), 600, 1, 1_000_000),
    authFailureLimit: intSetting(setting('auth-failure-limit', values['auth-failure-limit'], 'CLOUDPORT_AUTH_FAILURE_LIMIT', env.CLOUDPORT_AUTH_FAILURE_LIMIT), 20, 1, 1_000_000),
    maxSessionsPerKey: intSetting(setting('max-sessions-per-key', values['max-sessions-per-key'], 'CLOUDPORT_MAX_SESSIONS_PER_KEY', env.CLOUDPORT_MAX_SESSIONS_PER_KEY), 100, 1, 100_000),
    bodyTimeoutMs: int('CLOUDPORT_BODY_TIMEOUT_MS', env.CLOUDPORT_BODY_TIMEOUT_MS, 30_000, 100, 3_600_000),
    sessionIdleMs: int('CLOUDPORT_SESSION_IDLE_MS', env.CLOUDPORT_SESSION_IDLE_MS, 30 * 60_000, 100, 7 * 24 * 3600_000),
  };
  return {
    dataDir,
    databaseUrl: parseDatabaseUrl(dbUrl.v, dbUrl.name),
    readOnly: values['read-only'] ?? truthy('CLOUDPORT_READ_ONLY', env.CLOUDPORT_READ_ONLY),
    toolsets: parseToolsets(toolsets.v, toolsets.name),
    logLevel,
    concurrency: workers.n,
    maxConcurrency: workers.auto ? MAX_AUTO_WORKERS : workers.n,
    ...(connectorConcurrency !== undefined && connectorConcurrency !== '' ? { connectorConcurrency: int(values['connector-concurrency'] !== undefined ? '--connector-concurrency' : 'CLOUDPORT_CONNECTOR_CONCURRENCY', connectorConcurrency, 1, 1, 256) } : {}),
    blobStore: underSource(
      [
        ['--blob-store', 'CLOUDPORT_BLOB_STORE', values['blob-store']],
        ['--blob-store-endpoint', 'CLOUDPORT_BLOB_STORE_ENDPOINT', values['blob-store-endpoint']],
      ],
      () => parseBlobStore(values['blob-store'] ?? env.CLOUDPORT_BLOB_STORE, values['blob-store-endpoint'] ?? env.CLOUDPORT_BLOB_STORE_ENDPOINT, values['blob-store-region'] ?? env.CLOUDPORT_BLOB_STORE_REGION),
    ),
    hashThreads: int('CLOUDPORT_HASH_THREADS', env.CLOUDPORT_HASH_THREADS, Math.max(1, Math.min(4, os.availableParallelism() - 1)), 0, 16),
    leaseMs: int('CLOUDPORT_LEASE_MS', env.CLOUDPORT_LEASE_MS, 30_000, 500, 3_600_000),
    maxAttempts: int('CLOUDPORT_MAX_ATTEMPTS', env.CLOUDPORT_MAX_ATTEMPTS, 5, 1, 100),
    extract: parseExtract(env),
    sqliteMaxPageCount: int('CLOUDPORT_SQLITE_MAX_PAGE_COUNT', env.CLOUDPORT_SQLITE_MAX_PAGE_COUNT, 0, 0, 2 ** 31 - 2),
    idleTimeoutMs: int('CLOUDPORT_IDLE_TIMEOUT_MS', env.CLOUDPORT_IDLE_TIMEOUT_MS, 30_000, 100, 3_600_000),
    browseBudgetMs: int('CLOUDPORT_BROWSE_BUDGET_MS', env.CLOUDPORT_BROWSE_BUDGET_MS, 10_000, 1, 600_000),
    retentionDays: num('CLOUDPORT_RETENTION_DAYS', env.CLOUDPORT_RETENTION_DAYS, 30, 0, 36500),
    // Checked here so a bad value stops startup; the core reads the variable itself (App.open's env).
    minIntervalMs: int('CLOUDPORT_MIN_INTERVAL_MS', env.CLOUDPORT_MIN_INTERVAL_MS, 60_000, 1, 86_400_000),
    // Checked without --http too: a bad value stops startup whatever the mode.
    http: (values.http ?? truthy('CLOUDPORT_HTTP', env.CLOUDPORT_HTTP)) ? httpSettings : null,
    policy: {
      envRefs: list(values['allow-env-refs'] ?? env.CLOUDPORT_ALLOW_ENV_REFS) ?? [],
      fileRefs: list(values['allow-file-refs'] ?? env.CLOUDPORT_ALLOW_FILE_REFS) ?? [],
      ambientCredentials: values['allow-ambient-credentials'] ?? truthy('CLOUDPORT_ALLOW_AMBIENT_CREDENTIALS', env.CLOUDPORT_ALLOW_AMBIENT_CREDENTIALS),
      privateEndpoints: values['allow-private-endpoints'] ?? truthy('CLOUDPORT_ALLOW_PRIVATE_ENDPOINTS', env.CLOUDPORT_ALLOW_PRIVATE_ENDPOINTS),
      endpointCidrs: underSource([['--allow-endpoint-cidr', 'CLOUDPORT_ALLOW_ENDPOINT_CIDR', values['allow-endpoint-cidr']]], () => checkCidrs(list(values['allow-endpoint-cidr'] ?? env.CLOUDPORT_ALLOW_ENDPOINT_CIDR) ?? [])),
    },
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

export function helpText(version: string): string {
  const rows = SETTINGS.map((s) => `  ${s.flag.padEnd(24)} ${s.env.padEnd(32)} ${s.help} (default: ${s.default})`);
  return (
    `cloudport ${version}: MCP server that connects cloud storage and imports files into local indexes.\n\n` +
    `Usage:\n  cloudport [flags]                 serve MCP over stdio\n  cloudport --http [flags]          serve MCP over Streamable HTTP (team mode)\n` +
    `  cloudport worker [flags]          run import work only (job engine and maintenance), no MCP\n` +
    `  cloudport keys create --org NAME [--read-only] [--name LABEL]   print a new API key (last line of stdout)\n` +
    `  cloudport keys list | keys revoke ID\n` +
    `  cloudport auth google-drive --client-id ID --client-secret SECRET [--write] [--out FILE]   a refresh token for google_drive oauth credentials\n\nFlags may come before or after a command.\n\n${rows.join('\n')}\n`
  );
}

/** Settings a `cloudport worker` reads: not the MCP ones (transport, tool exposure, browse pages). */
const MCP_ONLY = new Set(['--http', '--read-only', '--toolsets', 'CLOUDPORT_BROWSE_BUDGET_MS']);

export function workerHelpText(version: string): string {
  const rows = SETTINGS.filter((s) => !MCP_ONLY.has(s.flag) && !MCP_ONLY.has(s.env) && !s.help.startsWith('HTTP:')).map(
    (s) => `  ${s.flag.padEnd(24)} ${s.env.padEnd(32)} ${s.help.replace(/^HTTP and worker: (.)/, (_, c: string) => c.toUpperCase())} (default: ${s.default})`,
  );
  return (
    `cloudport ${version}: a worker: import and export work only (the job engine, automations and maintenance), no MCP.\n\n` +
    `Usage:\n  cloudport worker [flags]\n\n` +
    `Workers share a store with MCP servers (which run jobs too unless --workers 0) and divide the work with leases;\n` +
    `on several hosts give them one --database-url and one --blob-store. SIGTERM or SIGINT hands leased work back and exits 0.\n\n` +
    `${rows.join('\n')}\n`
  );
}

export function keysHelpText(version: string): string {
  return (
    `cloudport ${version}: API keys for the HTTP front door (cloudport --http).\n\n` +
    `Usage:\n` +
    `  cloudport keys create --org NAME [--read-only] [--name LABEL]   print a new API key (last line of stdout; shown only once)\n` +
    `  cloudport keys list                                              every key: id, organization, prefix, access, created, state, label\n` +
    `  cloudport keys revoke ID                                         revoke a key at once (ID from keys list)\n\n` +
    `The store is chosen as for the server, with flags before or after "keys":\n` +
    `  --data-dir DIR        CLOUDPORT_DATA_DIR      (default: ~/.cloudport)\n` +
    `  --database-url URL    CLOUDPORT_DATABASE_URL  (default: SQLite in the data dir)\n`
  );
}

export function authHelpText(version: string): string {
  return (
    `cloudport ${version}: consent to Google Drive access for a connector with oauth credentials.\n\n` +
    `Usage:\n  cloudport auth google-drive --client-id ID --client-secret SECRET [--write] [--out FILE]\n\n` +
    `Opens a listener on 127.0.0.1 and prints a Google consent URL; open it, choose Allow, and the refresh\n` +
    `token is printed (last line of stdout) or, with --out FILE, written to FILE (mode 0600).\n` +
    `  --client-id, --client-secret   an OAuth client of type "Desktop app" (env GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)\n` +
    `  --write                        ask for the full drive scope (connectors with the export scope); default drive.readonly\n` +
    `  --auth-uri, --token-uri        other OAuth endpoints (default Google's)\n`
  );
}
