import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { raw, startHttpServer, type HttpServer } from '../helpers/http.js';

/**
 * `GET /healthz` without a key is the load balancer's liveness check (README: only {"ok": true} or 503
 * {"ok": false}). Load balancers and orchestrators probe an instance by its address (an AWS target
 * group or a Kubernetes httpGet probe sends Host: <instance ip>:<port>), not by the public name listed
 * in --allowed-hosts. A keyless /healthz tells a rebinding page nothing it could use, so it answers
 * such a probe with 200 {"ok": true}, while /mcp keeps refusing that Host with 403.
 */
describe('keyless /healthz behind --allowed-hosts', () => {
  let srv: HttpServer;
  beforeAll(async () => {
    srv = await startHttpServer(tempDir(), ['--allowed-hosts', 'cloudport.example.com', '--allowed-origins', 'https://cloudport.example.com']);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('answers a probe addressed to the instance (Host: address:port) with {ok}', async () => {
    const probe = await raw(srv.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${srv.port}` } });
    expect(probe.status).toBe(200);
    expect(JSON.parse(probe.body)).toEqual({ ok: true });
    const mcp = await raw(srv.port, { path: '/mcp', headers: { host: `127.0.0.1:${srv.port}`, 'content-type': 'application/json' }, body: '{}' });
    expect(mcp.status).toBe(403);
  });
});
