import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { createKey, raw, startHttpServer } from '../helpers/http.js';

/** /healthz with a key reports the configured workers, with max_concurrency while they adapt (built server, 127.0.0.1 only). */
describe('/healthz and adaptive concurrency', () => {
  for (const [args, workers] of [
    [[], { concurrency: 16, max_concurrency: 64 }],
    [['--workers', 'auto'], { concurrency: 16, max_concurrency: 64 }],
    [['--workers', '64'], { concurrency: 64 }],
    [['--workers', '0'], { concurrency: 0 }],
  ] as const) {
    it(`${args.join(' ') || 'defaults'}: workers ${JSON.stringify(workers)}`, async () => {
      const dataDir = tempDir();
      const key = await createKey(dataDir, 'acme');
      const s = await startHttpServer(dataDir, [...args]);
      onTestFinished(() => void s.stop());
      const r = await raw(s.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ ok: true, store: 'ok', workers });
    });
  }
});
