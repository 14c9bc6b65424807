#!/usr/bin/env node
import fs from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { App, DEFAULT_ORG } from './core/app.js';
import { helpText, parseConfig } from './config.js';
import { createServer } from './server.js';
import { asCloudportError } from './shared/errors.js';
import { createLogger } from './shared/log.js';
import { redact } from './shared/redact.js';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2), process.env);
  if (cfg.help) return void process.stdout.write(helpText(VERSION));
  if (cfg.version) return void process.stdout.write(VERSION + '\n');
  const log = createLogger(cfg.logLevel, { pid: process.pid });
  // Process warnings (e.g. the AWS SDK's Node version notice) go through the JSON log, not as free text on stderr.
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.debug('process warning', { name: w.name, warning: w.message.split('\n')[0] }));
  const app = await App.open({
    dataDir: cfg.dataDir,
    readOnly: cfg.readOnly,
    concurrency: cfg.concurrency,
    leaseMs: cfg.leaseMs,
    pollMs: 250,
    idleTimeoutMs: cfg.idleTimeoutMs,
    browseBudgetMs: cfg.browseBudgetMs,
    retentionDays: cfg.retentionDays,
    env: process.env,
    log,
  });
  const server = createServer(app, { org: DEFAULT_ORG, readOnly: cfg.readOnly, version: VERSION, log });
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { reason: why });
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    try {
      await server.close();
      await app.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.stdin.on('end', () => void shutdown('stdin closed'));
  await server.connect(new StdioServerTransport());
  app.start();
  log.info('cloudport ready', { version: VERSION, data_dir: cfg.dataDir, read_only: cfg.readOnly, transport: 'stdio' });
}

main().catch((e) => {
  const err = asCloudportError(e);
  process.stderr.write(
    JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'cloudport failed to start', kind: err.kind, error: redact(err.message), fix: err.fix }) + '\n',
  );
  process.stderr.write(`cloudport: ${redact(err.message)}${err.fix ? `\n  fix: ${err.fix}` : ''}\n`);
  process.exit(1);
});
