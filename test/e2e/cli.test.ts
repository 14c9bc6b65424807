import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, safeEnv, tempDir, until } from '../helpers/cloudport.js';

describe('command line', () => {
  it('keys take the global flags before or after the subcommand', async () => {
    const dataDir = tempDir();
    const before = await runCli(['--data-dir', dataDir, 'keys', 'create', '--org', 'acme']);
    expect(before.code, before.stderr).toBe(0);
    // The first key of a name creates its organization, and says so (a mistyped name shows here).
    expect(before.stdout).toMatch(/^created key key_\S+ for the new organization acme \(no organization had this name/);
    const second = await runCli(['--data-dir', dataDir, 'keys', 'create', '--org', 'acme']);
    expect(second.stdout).toMatch(/^created key key_\S+ for organization acme; it is shown only once/);
    const after = await runCli(['keys', 'create', '--org', 'beta', '--read-only', '--data-dir', dataDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/\(read-only\)/);
    for (const args of [['--data-dir', dataDir, 'keys', 'list'], ['keys', 'list', '--data-dir', dataDir], ['keys', '--data-dir', dataDir, 'list']]) {
      const list = await runCli(args);
      expect(list.code, `${args.join(' ')}: ${list.stderr}`).toBe(0);
      expect(list.stdout, args.join(' ')).toMatch(/^id\torganization\tkey prefix\taccess\tcreated\tstatus\tname\n/);
      expect(list.stdout, args.join(' ')).toMatch(/\tacme\t/);
      expect(list.stdout, args.join(' ')).toMatch(/\tbeta\t.*read-only/);
    }
    const id = (await runCli(['keys', 'list', '--data-dir', dataDir])).stdout.split('\n').find((l) => l.includes('\tacme\t'))!.split('\t')[0]!;
    const revoked = await runCli(['--data-dir', dataDir, 'keys', 'revoke', id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await runCli(['keys', 'list', '--data-dir', dataDir])).stdout).toMatch(new RegExp(`${id}\\t.*revoked`));
  });

  it('keys list on an empty store says so and how to make one', async () => {
    const r = await runCli(['keys', 'list', '--data-dir', tempDir()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no API keys; create one with: cloudport keys create --org NAME');
  });

  it('keys --help prints the keys usage', async () => {
    for (const args of [['keys', '--help'], ['--help', 'keys'], ['keys', 'create', '-h']]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('cloudport keys create --org NAME');
      expect(r.stdout).toContain('cloudport keys revoke ID');
      expect(r.stdout).not.toContain('CLOUDPORT_MASTER_KEY'); // the keys usage, not the server's
    }
  });

  it('worker --help prints the worker usage: no MCP-only settings, and it runs jobs and automations', async () => {
    for (const args of [['worker', '--help'], ['--help', 'worker']]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('cloudport worker [flags]');
      expect(r.stdout).toContain('--database-url');
      expect(r.stdout).toContain('--allow-env-refs');
      for (const mcpOnly of ['--http ', '--read-only', '--toolsets', '--port', '--rate-limit', 'CLOUDPORT_BROWSE_BUDGET_MS']) expect(r.stdout).not.toContain(mcpOnly);
    }
  });

  it('--help gives the worker defaults the README table gives: --workers auto, --connector-concurrency every slot', async () => {
    const r = await runCli(['--help']);
    expect(r.code, r.stderr).toBe(0);
    const line = (flag: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(flag)) ?? '';
    expect(line('--workers')).toContain('auto');
    expect(line('--connector-concurrency')).toContain('every slot');
    expect(line('--connector-concurrency')).not.toContain('= --workers');
  });

  it('each error is printed once: one human line, plus the JSON log line only where the log level allows it', async () => {
    const dataDir = tempDir();
    const cases: [string[], RegExp][] = [
      [['keys', 'create', '--data-dir', dataDir], /keys create needs --org NAME/],
      [['keys', 'frobnicate', '--data-dir', dataDir], /unknown keys command "frobnicate"/],
      [['--no-such-flag'], /no-such-flag/],
      [['serve-please'], /unknown command "serve-please"/],
      [['worker', '--workers', '0', '--data-dir', dataDir], /--workers 0 \(or CLOUDPORT_WORKERS=0\) would do nothing/],
    ];
    for (const [args, re] of cases) {
      for (const level of ['info', 'silent']) {
        const r = await runCli(args, { CLOUDPORT_LOG_LEVEL: level });
        const what = `${args.join(' ')} at ${level}: ${r.stderr}`;
        expect(r.code, what).toBe(1);
        expect(r.stdout, what).toBe('');
        const lines = r.stderr.trim().split('\n');
        const human = lines.filter((l) => !l.startsWith('{'));
        const json = lines.filter((l) => l.startsWith('{'));
        expect(human, what).toHaveLength(1);
        expect(human[0], what).toMatch(re);
        expect(human[0], what).toMatch(/^cloudport: /);
        expect(json.length, what).toBeLessThanOrEqual(level === 'silent' ? 0 : 1);
      }
    }
  });

  it('worker takes the global flags before or after the subcommand', async () => {
    for (const order of ['before', 'after'] as const) {
      const dataDir = tempDir();
      const flags = ['--data-dir', dataDir, '--workers', '1'];
      const p = spawn(process.execPath, [CLI, ...(order === 'before' ? [...flags, 'worker'] : ['worker', ...flags])], { env: safeEnv({ CLOUDPORT_LOG_LEVEL: 'info' }) });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
      await until(`worker ready (${order}): ${err}`, async () => err.includes('cloudport worker ready') || p.exitCode !== null);
      expect(err, order).toContain('cloudport worker ready');
      expect(err, order).toContain(JSON.stringify(dataDir).slice(1, -1));
      p.kill('SIGTERM');
      expect(await exited, order).toBe(0);
    }
  });
});
