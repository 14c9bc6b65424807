/**
 * `cloudport --help` documents --allowed-origins with "(default: the same, as http(s) origins)", and the
 * README's TLS note says to list the public name in --allowed-hosts / --allowed-origins behind a reverse
 * proxy. With only --allowed-hosts given, the accepted origins are those hosts as http(s) origins, so a
 * browser (the web console at /ui, which POSTs to /mcp with an Origin header) on the public name is
 * accepted: Host mcp.example.com with Origin https://mcp.example.com gets through, not 403.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, INIT, raw, startHttpServer, type HttpServer } from '../helpers/http.js';

let srv: HttpServer;
let key: string;
beforeAll(async () => {
  const dir = tempDir();
  srv = await startHttpServer(dir, ['--allowed-hosts', 'mcp.example.com']);
  key = await createKey(dir, 'acme');
}, 60_000);
afterAll(async () => {
  await srv?.stop();
});

const post = (headers: Record<string, string>) =>
  raw(srv.port, {
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: INIT,
  });

it('--help says what --allowed-origins defaults to', async () => {
  const { runCli } = await import('../helpers/cloudport.js');
  const r = await runCli(['--help']);
  expect(r.stdout).toMatch(/--allowed-origins .*default: the same, as http\(s\) origins/);
});

it('accepts the listed public host with its https origin when only --allowed-hosts is given', async () => {
  const noOrigin = await post({ host: 'mcp.example.com' });
  expect(noOrigin.status, 'the Host alone passes').toBe(200);
  const browser = await post({ host: 'mcp.example.com', origin: 'https://mcp.example.com' });
  expect(browser.status, `a browser on the public name: ${browser.body.slice(0, 200)}`).not.toBe(403);
  // An origin of another site stays refused.
  const other = await post({ host: 'mcp.example.com', origin: 'https://evil.example' });
  expect(other.status).toBe(403);
}, 60_000);
