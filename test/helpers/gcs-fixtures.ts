// For tests against the loopback GCS server: a proxy that delays its media GETs, a service-account key file.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { tempDir } from './cloudport.js';

/**
 * Loopback proxy that delays the requests `opts.when` picks (GCS media GETs unless given) by `opts.delay`
 * ms: a job stays running long enough to observe, or two writers race as a distant service lets them.
 */
export async function delayProxy(target: string, opts: { delay: number; when?: (req: http.IncomingMessage) => boolean }) {
  const when = opts.when ?? ((req: http.IncomingMessage) => req.method === 'GET' && req.url!.includes('alt=media'));
  const t = new URL(target);
  const srv = http.createServer((req, res) => {
    const go = () => {
      const p = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      p.on('error', () => res.destroy());
      req.pipe(p);
    };
    if (opts.delay && when(req)) setTimeout(go, opts.delay);
    else go();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}

/** Writes a (fake) service account key file; the loopback GCS server over http needs no token. */
export function saKeyFile(): string {
  const dir = tempDir('gcs-sa-');
  const p = path.join(dir, 'sa.json');
  fs.writeFileSync(p, JSON.stringify({ type: 'service_account', project_id: 'demo', client_email: 'qa@demo.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nTEST-SECRET\n-----END PRIVATE KEY-----\n' }));
  return p;
}
