/**
 * The job-event listener's connection has a connect timeout, and PostgresStore.close() does not wait on a
 * listener still connecting: while the database endpoint accepts TCP but does not answer (a hung server,
 * a proxy or pooler whose backend is down), close() still resolves.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import type { JobEvent, NewJob } from '../../src/store/types.js';
import { pgSchema } from '../helpers/pg.js';

const s = pgSchema('rvhang');

/** A TCP proxy to PostgreSQL that can start holding new connections open without answering. */
async function proxy(targetPort: number) {
  const socks = new Set<net.Socket>();
  let hang = false;
  let onHeld: (() => void) | null = null;
  const server = net.createServer((c) => {
    socks.add(c);
    c.on('error', () => {});
    if (hang) return void onHeld?.();
    const u = net.connect(targetPort, '127.0.0.1');
    socks.add(u);
    c.pipe(u).pipe(c);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    for (const x of [c, u]) x.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Drops every connection; new ones are accepted and never answered. Resolves once one is held. */
    hang: () => new Promise<void>((r) => { hang = true; onHeld = r; for (const x of socks) x.destroy(); socks.clear(); }),
    close: () => new Promise<void>((r) => { for (const x of socks) x.destroy(); server.close(() => r()); }),
  };
}

const job = (id: string): NewJob => ({
  id, org_id: 'org_a', kind: 'import', connector_id: 'conn_1', index_name: 'idx', params: '{}', status: 'queued', listing_state: null,
  listing_complete: 1, lease_owner: null, lease_expires: 0, error: null, created_at: new Date().toISOString(),
});

describe('job-event listener and an unanswering database', () => {
  it('close() resolves while the listener is reconnecting to an endpoint that does not answer', async () => {
    const p = await proxy(5432);
    const store = await PostgresStore.open(s.url(p.port));
    try {
      // Listening: a job created through the proxy is heard.
      let heard: (() => void) | null = null;
      store.watchJobs((e: JobEvent) => e.kind === 'queued' && heard?.());
      for (let i = 0; ; i++) {
        const got = new Promise<boolean>((r) => { heard = () => r(true); setTimeout(() => r(false), 100); });
        await store.createJob(job(`warm_${i}`), []);
        if (await got) break;
      }
      // The connection drops; the listener's next attempt reaches a server that never answers.
      await p.hang();
      // The pool holds no client now (its idle ones were dropped): only the listener can keep close() waiting.
      await store.close();
      expect((store as unknown as { listener: unknown }).listener).toBeNull();
    } finally {
      await p.close();
    }
  }, 20_000);
});
