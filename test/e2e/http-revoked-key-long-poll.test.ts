/**
 * Revoking an API key (`cloudport keys revoke ID`) takes effect at once, also for a request of that key
 * already in flight: an `import_status {wait_seconds}` long poll of the revoked key stops handing out the
 * job's status and progress. It ends with a JSON-RPC error that says the key was revoked (written on the
 * request's stream before the session closes, so the client does not wait for its own timeout), never
 * with the job's counts and bytes delivered to a key that no longer exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET, bytes, startS3Env, uniqueName, type S3Env } from '../helpers/s3env.js';

describe('a revoked key loses its in-flight long poll', () => {
  let env: S3Env;
  let dataDir: string;
  let srv: HttpServer;
  beforeAll(async () => {
    env = await startS3Env(['revoke-slow']);
    for (let i = 0; i < 6; i++) await env.s3.put('revoke-slow', `f/${i}.bin`, bytes(64 * 1024, 10 + i));
    dataDir = tempDir();
    srv = await startHttpServer(dataDir, ['--allow-endpoint-cidr', '127.0.0.1/32', '--connector-concurrency', '1']);
  });
  afterAll(async () => {
    await srv?.stop();
    await env?.stop();
  });

  it('import_status wait_seconds of a key revoked meanwhile does not answer with the job', async () => {
    const key = await createKey(dataDir, 'acme');
    const c = await connectHttp(srv.url, key);
    const { connector } = await c.ok('create_connector', {
      name: uniqueName(),
      provider: 's3',
      bucket: 'revoke-slow',
      endpoint: env.proxy.endpoint,
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET },
    });
    // Every download stalls: the job stays running for longer than the long poll's wait.
    env.proxy.addFault({ match: { op: 'GetObject' }, times: 1000, action: { type: 'stall', afterBytes: 16 * 1024, ms: 1500 } });
    const job = await c.ok('start_import', { connector_id: connector.id, index: 'slow' });
    let revoked = false;
    const afterRevoke: unknown[] = [];
    const poll = c.client
      .callTool({ name: 'import_status', arguments: { job_id: job.job_id, wait_seconds: 25 } }, undefined, {
        timeout: 15_000,
        onprogress: (p) => {
          if (revoked) afterRevoke.push(p);
        },
      })
      .then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
    // The poll is in flight (its first progress notification came).
    await new Promise((r) => setTimeout(r, 1000));
    const keys = (await runCli(['keys', 'list', '--data-dir', dataDir])).stdout.trim().split('\n');
    const id = keys.find((l) => l.includes(key.slice(0, 10)))!.split('\t')[0]!;
    expect((await runCli(['keys', 'revoke', id, '--data-dir', dataDir])).code).toBe(0);
    revoked = true;
    // A new request of the key is refused at once.
    await expect(c.call('list_indexes')).rejects.toThrow(/revoked/);

    const out = await poll;
    env.proxy.clearFaults();
    // Answered with the reason, not left to the client's 15 s timeout.
    expect(out.ok).toBe(false);
    expect(String((out as { e?: unknown }).e)).toMatch(/API key was revoked/);
    if (out.ok) {
      const text = (out.r.content as { text: string }[]).map((x) => x.text).join('\n');
      // An answer, if any, is a refusal: not the job's status.
      expect(out.r.isError, `the revoked key still got: ${text.slice(0, 200)}`).toBe(true);
      expect(text).not.toContain(job.job_id);
      expect(out.r.structuredContent ?? {}).not.toHaveProperty('counts');
    }
    expect(afterRevoke.length, `progress notifications after the revocation: ${JSON.stringify(afterRevoke)}`).toBeLessThanOrEqual(1);
  });
});
