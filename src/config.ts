import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudportError } from './shared/errors.js';
import { LOG_LEVELS, type LogLevel } from './shared/log.js';

/** Every setting: a flag, its environment variable, its default. The README's configuration table mirrors this list. */
export const SETTINGS = [
  { flag: '--data-dir', env: 'CLOUDPORT_DATA_DIR', default: '~/.cloudport', help: 'Where the SQLite store, master.key and imported content live.' },
  { flag: '--read-only', env: 'CLOUDPORT_READ_ONLY', default: 'off', help: 'List only read-only tools and refuse any other call.' },
  { flag: '--log-level', env: 'CLOUDPORT_LOG_LEVEL', default: 'info', help: 'debug, info, warn, error or silent. JSON lines on stderr.' },
  { flag: '--concurrency', env: 'CLOUDPORT_CONCURRENCY', default: '8', help: 'Downloads at once in this process (0: run no import work here).' },
  { flag: '(env only)', env: 'CLOUDPORT_MASTER_KEY', default: 'generated', help: '32 bytes, base64: encrypts stored credentials. Default: generated once into <data-dir>/master.key (0600).' },
  { flag: '(env only)', env: 'CLOUDPORT_LEASE_MS', default: '30000', help: 'Lease on a unit of import work; a crashed process\'s work is taken over after it.' },
  { flag: '(env only)', env: 'CLOUDPORT_IDLE_TIMEOUT_MS', default: '30000', help: 'A download that receives nothing for this long is resumed.' },
  { flag: '(env only)', env: 'CLOUDPORT_BROWSE_BUDGET_MS', default: '10000', help: 'Time budget of one browse_connector page.' },
  { flag: '(env only)', env: 'CLOUDPORT_RETENTION_DAYS', default: '30', help: 'Finished imports and their logs are pruned after this many days.' },
] as const;

export interface CliConfig {
  dataDir: string;
  readOnly: boolean;
  logLevel: LogLevel;
  concurrency: number;
  leaseMs: number;
  idleTimeoutMs: number;
  browseBudgetMs: number;
  retentionDays: number;
  help: boolean;
  version: boolean;
}

function int(name: string, value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined || value === '') return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CloudportError('config_invalid', `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`, { field: name });
  }
  return n;
}

function num(name: string, value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined || value === '') return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new CloudportError('config_invalid', `${name} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`, { field: name });
  return n;
}

const truthy = (v: string | undefined) => v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      'read-only': { type: 'boolean' },
      'log-level': { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
    allowPositionals: false,
  });
  const rawDir = values['data-dir'] ?? env.CLOUDPORT_DATA_DIR ?? path.join(os.homedir(), '.cloudport');
  const dataDir = path.resolve(rawDir.startsWith('~/') ? path.join(os.homedir(), rawDir.slice(2)) : rawDir);
  const logLevel = (values['log-level'] ?? env.CLOUDPORT_LOG_LEVEL ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new CloudportError('config_invalid', `--log-level must be one of ${LOG_LEVELS.join(', ')}`, { field: '--log-level' });
  return {
    dataDir,
    readOnly: values['read-only'] ?? truthy(env.CLOUDPORT_READ_ONLY),
    logLevel,
    concurrency: int('--concurrency', values.concurrency ?? env.CLOUDPORT_CONCURRENCY, 8, 0, 256),
    leaseMs: int('CLOUDPORT_LEASE_MS', env.CLOUDPORT_LEASE_MS, 30_000, 500, 3_600_000),
    idleTimeoutMs: int('CLOUDPORT_IDLE_TIMEOUT_MS', env.CLOUDPORT_IDLE_TIMEOUT_MS, 30_000, 100, 3_600_000),
    browseBudgetMs: int('CLOUDPORT_BROWSE_BUDGET_MS', env.CLOUDPORT_BROWSE_BUDGET_MS, 10_000, 1, 600_000),
    retentionDays: num('CLOUDPORT_RETENTION_DAYS', env.CLOUDPORT_RETENTION_DAYS, 30, 0, 36500),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

export function helpText(version: string): string {
  const rows = SETTINGS.map((s) => `  ${s.flag.padEnd(16)} ${s.env.padEnd(28)} ${s.help} (default: ${s.default})`);
  return `cloudport ${version}: MCP server that connects cloud storage and imports files into local indexes.\n\nUsage: cloudport [flags]   (serves MCP over stdio)\n\n${rows.join('\n')}\n`;
}
