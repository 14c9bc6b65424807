import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, waitForJob, until, type Running } from '../helpers/cloudport.js';
import { bytes, sha256, uniqueName } from '../helpers/s3env.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
// @ts-expect-error plain JS test support
import { startAzurite } from '../support/azurite.mjs';
// @ts-expect-error plain JS test support
import { startProxy, gcsOp, azureOp } from '../support/s3-proxy.mjs';
import { FIXTURE_SA } from '../providers/gcs.fixture.js';

/**
 * GCS and Azure edges through the built server over stdio, each provider behind our fault proxy (all
 * traffic on 127.0.0.1): a read whose answer never starts is given up after the idle timeout and tried
 * again, and so is an export write whose answer never comes; throttling never makes a connector FAILED, and a throttled first listing still starts the job;
 * Azure Archive-tier blobs fail up front with "needs restore", without a GET.
 */

interface Env {
  name: 'gcs' | 'azure_blob';
  proxy: any;
  put(key: string, body: Buffer | string, contentType?: string): Promise<void>;
  connector(): Record<string, unknown>;
  throttle: Record<string, unknown>;
  stop(): Promise<void>;
}

async function gcsEnv(bucket: string): Promise<Env & { server: any }> {
  const server = await startGcsServer();
  const proxy = await startProxy({ upstream: server.endpoint, classify: gcsOp });
  server.createBucket(bucket);
  return {
    name: 'gcs',
    server,
    proxy,
    put: async (k, b, t) => server.put(bucket, k, b, t),
    connector: () => ({ provider: 'gcs', bucket, endpoint: proxy.endpoint, credentials: { type: 'service_account', json: FIXTURE_SA } }),
    throttle: {
      type: 'status',
      status: 429,
      body: JSON.stringify({ error: { code: 429, message: 'slow down', errors: [{ reason: 'rateLimitExceeded', message: 'slow down' }] } }),
      headers: { 'content-type': 'application/json', 'retry-after': '0' },
    },
    stop: async () => {
      await proxy.stop();
      await server.stop();
    },
  };
}

async function azureEnv(container: string): Promise<Env & { az: any }> {
  const az = await startAzurite();
  const proxy = await startProxy({ upstream: `http://127.0.0.1:${az.port}`, classify: azureOp });
  await az.createContainer(container);
  return {
    name: 'azure_blob',
    az,
    proxy,
    put: (k, b, t) => az.put(container, k, b, t),
    connector: () => ({ provider: 'azure_blob', container, endpoint: `${proxy.endpoint}/${az.accountName}`, credentials: { type: 'account_key', account_key: az.accountKey } }),
    throttle: {
      type: 'status',
      status: 503,
      body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>',
      headers: { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy', 'retry-after': '0' },
    },
    stop: async () => {
      await proxy.stop();
      await az.stop();
    },
  };
}

describe.each([
  ['gcs', () => gcsEnv('gaz-edges')],
  ['azure_blob', () => azureEnv('gaz-edges')],
] as const)('gcs and azure edges: %s', (_name, make) => {
  let env: Env;
  let cp: Running;
  beforeAll(async () => {
    env = await make();
    cp = await startCloudport({ dataDir: tempDir(), env: { CLOUDPORT_IDLE_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('a GET whose answer never starts (no response headers) is resumed after CLOUDPORT_IDLE_TIMEOUT_MS, as s3 does', async () => {
    const data = bytes(100_000, 7);
    await env.put('stall/one.bin', data);
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector() });
    env.proxy.resetCounts();
    // The first GET's answer is held back for 10 minutes; any later GET is answered at once.
    env.proxy.setDelays({ GetObject: 600_000 });
    const j = await cp.ok('start_import', { connector_id: connector.id, index: uniqueName('stall'), keys: ['stall/one.bin'] });
    await until('the first GET', async () => env.proxy.counts.GetObject >= 1);
    env.proxy.setDelays({});
    const s = await waitForJob(cp, j.job_id, 30_000);
    expect(s).toMatchObject({ status: 'completed', counts: { ready: 1 } });
    expect(env.proxy.counts.GetObject).toBe(2);
  });

  it('an export write whose answer never comes is given up after CLOUDPORT_IDLE_TIMEOUT_MS and tried again, as s3 does', async () => {
    await env.put('wstall/a.txt', 'to be written back');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector(), scopes: ['import', 'export'], export_base_path: 'wstall-out' });
    const index = uniqueName('wstall');
    await waitForJob(cp, (await cp.ok('start_import', { connector_id: connector.id, index, prefix: 'wstall/' })).job_id);
    env.proxy.resetCounts();
    // The first write's answer is held back for 10 minutes; once it was sent, writes are answered at once.
    env.proxy.setDelays({ PutObject: 600_000 });
    const e = await cp.ok('start_export', { index, connector_id: connector.id, overwrite: 'always' });
    await until('the first write', async () => env.proxy.counts.PutObject >= 1);
    env.proxy.setDelays({});
    const s = await waitForJob(cp, e.job_id, 30_000);
    expect(s).toMatchObject({ status: 'completed', counts: { exported: 1 } });
    expect(env.proxy.counts.PutObject).toBeGreaterThanOrEqual(2);
  });

  it('throttled test_connector calls do not make the connector FAILED (throttling is not a connector fault)', async () => {
    await env.put('health/x.txt', 'x');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector() });
    for (let i = 0; i < 5; i++) {
      env.proxy.addFault({ times: 50, action: env.throttle });
      const t = await cp.call('test_connector', { connector_id: connector.id });
      env.proxy.clearFaults();
      expect(t.data.checks[0]).toMatchObject({ name: 'auth', status: 'failed', detail: expect.stringMatching(/throttling/) });
    }
    const c = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(c.status).toBe('ACTIVE');
    const r = await cp.call('start_import', { connector_id: connector.id, index: uniqueName('after-throttle'), prefix: 'health/' });
    expect(r.isError).toBe(false);
  });

  it('a listing throttled 5 times in a row does not fail start_import (throttling has a larger retry budget)', async () => {
    await env.put('thr-list/x.txt', 'x');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector() });
    env.proxy.addFault({ match: { op: 'ListObjects' }, times: 5, action: env.throttle });
    const r = await cp.call('start_import', { connector_id: connector.id, index: uniqueName('thr-list'), prefix: 'thr-list/' });
    env.proxy.clearFaults();
    expect(r.isError, r.text).toBe(false);
    expect(r.data).toMatchObject({ accepted: 0, listing_complete: false, hint: expect.stringMatching(/throttled the listing: it goes on in the background/) });
    expect((await waitForJob(cp, r.data.job_id)).status).toBe('completed');
    const c = (await cp.ok('get_connector', { connector_id: connector.id })).connector;
    expect(c.consecutive_failures).toBe(0);
  });

  it('start_import {keys} throttled past its budget answers rate_limited and leaves connector health alone', async () => {
    await env.put('thr-keys/x.txt', 'x');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector() });
    env.proxy.addFault({ times: 50, action: env.throttle });
    const r = await cp.call('start_import', { connector_id: connector.id, index: uniqueName('thr-keys'), keys: ['thr-keys/x.txt'] });
    env.proxy.clearFaults();
    expect(r.data.error).toMatchObject({ kind: 'rate_limited' });
    expect((await cp.ok('get_connector', { connector_id: connector.id })).connector).toMatchObject({ status: 'ACTIVE', consecutive_failures: 0 });
  });
});

describe('azure Archive tier', () => {
  let env: Awaited<ReturnType<typeof azureEnv>>;
  let cp: Running;
  beforeAll(async () => {
    env = await azureEnv('gaz-cold');
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('archived blobs fail with "needs restore" up front, without a GET each (as S3 Glacier objects do)', async () => {
    const cc = env.az.service.getContainerClient('gaz-cold');
    for (let i = 0; i < 3; i++) {
      await env.put(`cold/f${i}.bin`, `frozen ${i}`);
      await cc.getBlobClient(`cold/f${i}.bin`).setAccessTier('Archive');
    }
    await env.put('cold/warm.bin', 'warm');
    const { connector } = await cp.ok('create_connector', { name: uniqueName(), ...env.connector() });
    env.proxy.resetCounts();
    const j = await cp.ok('start_import', { connector_id: connector.id, index: uniqueName('cold') });
    expect(j.failed_files.map((f: { key: string }) => f.key).sort()).toEqual(['cold/f0.bin', 'cold/f1.bin', 'cold/f2.bin']);
    const s = await waitForJob(cp, j.job_id);
    expect(s).toMatchObject({ status: 'completed_with_errors', counts: { ready: 1, failed: 3 } });
    expect(env.proxy.gets.filter((k: string | null) => k?.startsWith('cold/f'))).toEqual([]);
  });
});
