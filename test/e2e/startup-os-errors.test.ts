import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": a bad value stops startup with an error naming the flag or variable it came
 * from. A data dir that is a file, a port already taken and a host that does not resolve are bad values
 * of --data-dir / --port / --host: the error (exit 1, nothing on stdout) names that setting and is
 * config_invalid, not a bare errno text of kind "unexpected". A cloudport.db that is not a database
 * names the file, so the user knows what to move away.
 */
const human = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cloudport: ')).join('\n');
const jsonKinds = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'cloudport failed to start')
    .map((l) => l.kind);

describe('startup errors caused by the machine name the setting at fault', () => {
  it('a --data-dir that is a file is refused naming --data-dir', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const r = await runCli(['--data-dir', file], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(human(r.stderr), r.stderr).toContain('--data-dir');
    expect(jsonKinds(r.stderr)).toEqual(['config_invalid']);
  }, 30_000);

  it('a CLOUDPORT_DATA_DIR that is a file is refused naming CLOUDPORT_DATA_DIR', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const r = await runCli([], { CLOUDPORT_DATA_DIR: file, CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(r.code).toBe(1);
    expect(human(r.stderr), r.stderr).toContain('CLOUDPORT_DATA_DIR');
  }, 30_000);

  it('a --port already in use is refused naming --port', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['--http', '--port', String(port), '--data-dir', tempDir()], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(human(r.stderr), r.stderr).toContain('--port');
      expect(jsonKinds(r.stderr)).toEqual(['config_invalid']);
    } finally {
      busy.close();
    }
  }, 30_000);

  it('a --host that does not resolve is refused naming --host', async () => {
    const r = await runCli(['--http', '--port', '0', '--host', 'no-such-host.invalid', '--data-dir', tempDir()], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(human(r.stderr), r.stderr).toContain('--host');
    expect(jsonKinds(r.stderr)).toEqual(['config_invalid']);
  }, 30_000);

  it('a cloudport.db that is not a database is named in the error, with a fix', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'cloudport.db'), 'this is not an SQLite file at all\n');
    const r = await runCli(['--data-dir', dataDir], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const line = human(r.stderr);
    expect(line, r.stderr).toContain(path.join(dataDir, 'cloudport.db'));
    expect(line, r.stderr).toMatch(/\(fix: /);
  }, 30_000);

  it('a truncated cloudport.db ("database disk image is malformed") is named in the error, with a fix', async () => {
    const dataDir = tempDir();
    const first = await runCli(['--data-dir', dataDir], {}, '');
    expect(first.code, first.stderr).toBe(0);
    const db = path.join(dataDir, 'cloudport.db');
    fs.truncateSync(db, 16384);
    const r = await runCli(['--data-dir', dataDir], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const line = human(r.stderr);
    expect(line, r.stderr).toContain(db);
    expect(line, r.stderr).toMatch(/\(fix: /);
  }, 30_000);
});
