// CPU per GET of Node's http client against the S3 fast path's client (dist/shared/http-get.js, undici
// on an http.Agent), on loopback.
//   node bench/http-client.mjs [GETS] [--lean path/to/old/dist/shared/lean-get.js]   (run `npm run build` first)
// With --lean, the hand-written client it replaced (from a checkout of 98164cb) runs as a third client.
// A child process serves 64 KiB answers with S3-like headers; this process makes GETS requests, 16 at
// once on kept-alive sockets, with each client in turn (twice), and prints its own CPU time per request.
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--serve') {
  const body = Buffer.alloc(64 * 1024, 7);
  http
    .createServer((req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"0123456789abcdef0123456789abcdef"', 'content-type': 'application/octet-stream', 'last-modified': new Date().toUTCString(), 'x-amz-request-id': 'bench' });
      res.end(body);
    })
    .listen(0, '127.0.0.1', function () {
      process.send(this.address().port);
    });
} else {
  const { httpGet } = await import(new URL('../dist/shared/http-get.js', import.meta.url));
  const leanAt = process.argv.indexOf('--lean');
  const leanGet = leanAt > 0 ? (await import(new URL(process.argv[leanAt + 1], `file://${process.cwd()}/`))).leanGet : null;
  const N = Number(process.argv[2]?.startsWith('--') ? 4000 : (process.argv[2] ?? 4000));
  const C = 16;
  const server = fork(fileURLToPath(import.meta.url), ['--serve']);
  const port = await new Promise((r) => server.once('message', r));
  const headers = { host: `127.0.0.1:${port}`, 'x-amz-date': '20261202T000000Z', 'x-amz-content-sha256': 'e'.repeat(64), authorization: `AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'a'.repeat(64)}` };
  const drain = async (body) => {
    for await (const _ of body);
  };
  const clients = {
    'node:http': (agent) => (i) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: `/b/k${i}`, agent, headers }, (res) => drain(res).then(resolve, reject));
        req.on('error', reject);
        req.end();
      }),
    'undici (http-get)': (agent) => (i) => httpGet(agent, { protocol: 'http:', hostname: '127.0.0.1', port }, `/b/k${i}`, headers, { connectTimeoutMs: 5000, idleTimeoutMs: 30000 }).then((r) => drain(r.body)),
    ...(leanGet ? { 'lean-get (old)': (agent) => (i) => leanGet(agent, { protocol: 'http:', hostname: '127.0.0.1', port }, `/b/k${i}`, headers, { connectTimeoutMs: 5000 }).then((r) => drain(r.body)) } : {}),
  };
  for (let round = 0; round < 2; round++) {
    for (const [name, make] of Object.entries(clients)) {
      const get = make(new http.Agent({ keepAlive: true, maxSockets: C }));
      let next = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: C }, async () => { for (let i = next++; i < N; i = next++) await get(i); }));
      const u = process.cpuUsage(c0);
      console.log(`${name}: ${N} GETs in ${Math.round(performance.now() - t0)} ms; client CPU ${((u.user + u.system) / N).toFixed(0)} µs per GET (user ${(u.user / N).toFixed(0)}, system ${(u.system / N).toFixed(0)})`);
    }
  }
  server.kill();
}
