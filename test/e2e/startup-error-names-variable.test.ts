import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, runCli, safeEnv, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": "A bad value stops startup with an error naming the flag or variable it came
 * from". Each case below sets a bad value only in the environment (no flag typed); the startup error
 * (exit 1, nothing on stdout) names that environment variable, not a flag the operator never gave.
 */
const human = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cloudport: ')).join('\n');

describe('a bad value given only in the environment is refused naming the variable', () => {
  const cases: [string, Record<string, string>, string[]][] = [
    ['CLOUDPORT_CONNECTOR_CONCURRENCY', { CLOUDPORT_CONNECTOR_CONCURRENCY: '0' }, []],
    ['CLOUDPORT_BLOB_STORE', { CLOUDPORT_BLOB_STORE: 's3://Bad_Bucket' }, []],
    ['CLOUDPORT_BLOB_STORE_ENDPOINT', { CLOUDPORT_BLOB_STORE: 's3://good-bucket/p', CLOUDPORT_BLOB_STORE_ENDPOINT: 'ftp://127.0.0.1:9000' }, []],
    ['CLOUDPORT_ALLOW_ENDPOINT_CIDR', { CLOUDPORT_ALLOW_ENDPOINT_CIDR: '10.0.0.0/33' }, []],
    ['CLOUDPORT_WORKERS', { CLOUDPORT_WORKERS: '0' }, ['worker']],
  ];
  for (const [name, env, args] of cases) {
    it(`${name}: the startup error names ${name}`, async () => {
      const r = await runCli([...args, '--data-dir', tempDir()], env, '');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(human(r.stderr), r.stderr).toContain(name);
    }, 30_000);
  }
});

/**
 * CLOUDPORT_HTTP=1 in an environment shared by front doors and workers: `cloudport worker` either ignores
 * it (as it does CLOUDPORT_READ_ONLY and CLOUDPORT_TOOLSETS, with a warning) or refuses naming
 * CLOUDPORT_HTTP; it does not blame a --http flag that was never given.
 */
describe('cloudport worker with CLOUDPORT_HTTP=1 in its environment', () => {
  it('does not blame --http', async () => {
    const p = spawn(process.execPath, [CLI, 'worker', '--data-dir', tempDir()], { env: safeEnv({ CLOUDPORT_HTTP: '1', CLOUDPORT_LOG_LEVEL: 'info' }) });
    let stderr = '';
    const outcome = await new Promise<{ code: number | null } | 'ready'>((resolve) => {
      p.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('cloudport worker ready')) resolve('ready');
      });
      p.on('close', (code) => resolve({ code }));
    });
    if (outcome === 'ready') {
      p.kill('SIGTERM');
      await new Promise((r) => p.on('close', r));
    } else {
      expect(human(stderr), stderr).toContain('CLOUDPORT_HTTP');
    }
  }, 30_000);
});
