import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GcsProvider } from '../../src/providers/gcs/provider.js';
import { FIXTURE_SA } from '../providers/gcs.fixture.js';

/**
 * A GCS read given up before its answer (the download's timer for reads with no answer) whose answer
 * comes later leaves the shared agent alone: destroying @google-cloud/storage's stream before the
 * answer made the library destroy the agent once the answer came, cutting every other download on it.
 * The bodies stream in 100 ms steps (a server's pace, not an assertion on time).
 */
describe('gcs read aborted before its answer', () => {
  it('does not destroy the sockets of other requests on the shared agent when the late answer arrives', async () => {
    const server = http.createServer((req, res) => {
      if (req.url!.includes('slow')) {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '5', 'x-goog-generation': '1' });
          res.end('hello');
        }, 400);
      } else {
        // a long body that streams for 1.5 s
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(15 * 1000), 'x-goog-generation': '1' });
        let n = 0;
        const t = setInterval(() => {
          res.write(Buffer.alloc(1000));
          if (++n === 15) (clearInterval(t), res.end());
        }, 100);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let destroyed = 0;
    const orig = agent.destroy.bind(agent);
    agent.destroy = () => (destroyed++, orig());
    const p = new GcsProvider({ bucket: 'b', endpoint: `http://127.0.0.1:${port}` } as never, { type: 'service_account', json: FIXTURE_SA } as never, { maxSockets: 16, connectTimeoutMs: 5000, agents: { http: agent, https: agent as never } });
    const other = await p.read('big');
    const chunks: Buffer[] = [];
    const otherDone = (async () => {
      for await (const c of other.body as AsyncIterable<Buffer>) { chunks.push(c); }
    })().then(() => 'ok', (e) => `failed: ${(e as Error).message}`);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('no answer in time')), 100);
    await expect(p.read('slow', { signal: ctl.signal })).rejects.toThrow();
    const result = await Promise.race([otherDone, new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000))]);
    server.close();
    expect({ destroyed, result, got: Buffer.concat(chunks).length }).toEqual({ destroyed: 0, result: 'ok', got: 15000 });
  });
});
