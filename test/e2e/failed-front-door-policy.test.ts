import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README (Security, worker): "A stdio server refuses to run import work on a store that an HTTP front door
 * serves". A `cloudport --http` that never started (its port was taken, or its --host does not resolve)
 * serves nothing, so it leaves no front-door mark in the store: the stdio server that the README's
 * client configs start on the same data dir still starts afterwards (exit 0 once its input ends).
 */
describe('an HTTP front door that failed to start', () => {
  it('does not stop a later stdio server on the same data dir (port taken)', async () => {
    const dataDir = tempDir();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const http = await runCli(['--http', '--port', String(port), '--data-dir', dataDir], {}, '');
      expect(http.code, http.stderr).toBe(1);
    } finally {
      busy.close();
    }
    const stdio = await runCli(['--data-dir', dataDir], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(stdio.stderr).not.toContain('served by an HTTP front door');
    expect(stdio.code, stdio.stderr).toBe(0);
    expect(stdio.stderr).toContain('"msg":"cloudport ready"');
  }, 30_000);

  it('does not stop a later stdio server on the same data dir (host does not resolve)', async () => {
    const dataDir = tempDir();
    const http = await runCli(['--http', '--port', '0', '--host', 'no-such-host.invalid', '--data-dir', dataDir], {}, '');
    expect(http.code, http.stderr).toBe(1);
    const stdio = await runCli(['--data-dir', dataDir], { CLOUDPORT_LOG_LEVEL: 'info' }, '');
    expect(stdio.stderr).not.toContain('served by an HTTP front door');
    expect(stdio.code, stdio.stderr).toBe(0);
  }, 30_000);
});
