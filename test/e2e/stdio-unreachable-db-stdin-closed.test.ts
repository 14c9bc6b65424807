import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration" / "PostgreSQL store": an unreachable --database-url is a clear startup error.
 * A database host that accepts the TCP connection but never answers (a firewall, a hung server) makes the
 * store's open wait for pg's 10 s connection timeout. In stdio mode, when stdin ends meanwhile (a piped
 * session, `cloudport --database-url … </dev/null` to try the URL), the shutdown waits for the open to
 * end: the process exits 1 with the store's error, not 0 with nothing said.
 */
describe('stdio: unreachable PostgreSQL and stdin closed', () => {
  let hole: net.Server;
  let port = 0;
  const sockets: net.Socket[] = [];
  beforeAll(async () => {
    hole = net.createServer((s) => {
      sockets.push(s);
      s.on('data', () => {});
      s.on('error', () => {});
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    port = (hole.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => hole.close(r));
  });

  it('exits non-zero with the store error, not 0 with "stdin closed"', async () => {
    const r = await runCli(['--data-dir', tempDir(), '--database-url', `postgres://postgres:pw-Secret-123@127.0.0.1:${port}/x`], {}, '');
    expect(r.stderr).toMatch(/cannot open the PostgreSQL store/);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).not.toContain('pw-Secret-123');
  }, 40_000);
});
