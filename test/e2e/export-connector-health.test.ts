import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFiles, automation, startCloudport, tempDir, until, waitForJob, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * Exports and connector state/health. README "Connector health": "While a connector is FAILED, SUSPENDED
 * or ARCHIVED, its jobs make no more requests: their pending files fail with `connector FAILED: …`";
 * passing checks (test_connector, update_connector) make a FAILED connector ACTIVE again; a file's own
 * refusal is not the connector's; every file that fails for a credential reason counts as it happens.
 */
const FINAL = ['completed', 'completed_with_errors', 'failed', 'canceled'];
let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['src', 'dst-suspend', 'dst-failed', 'dst-refused', 'dst-403']);
  for (let i = 0; i < 20; i++) await env.s3.put('src', `f${String(i).padStart(2, '0')}.txt`, `content ${i}`, { contentType: 'text/plain' });
  await env.s3.put('src', 'bad/../x.txt', 'escapes');
  cp = await startCloudport({ dataDir: tempDir(), args: ['--workers', '1'], env: { CLOUDPORT_MIN_INTERVAL_MS: '500' } });
  const src = (await cp.ok('create_connector', env.connector('src'))).connector.id;
  await waitForJob(cp, (await cp.ok('start_import', { connector_id: src, index: 'i' })).job_id);
});
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

const exportConnector = async (bucket: string) => (await cp.ok('create_connector', { ...env.connector(bucket), scopes: ['import', 'export'], export_base_path: 'out' })).connector.id as string;

describe('exports respect the connector state and health', () => {
  it('an export makes no more writes once its connector is SUSPENDED: pending files fail with "connector SUSPENDED"', async () => {
    const dst = await exportConnector('dst-suspend');
    env.proxy.setDelays({ PutObject: 300 });
    env.proxy.resetCounts();
    try {
      const r = await cp.ok('start_export', { index: 'i', connector_id: dst, prefix: 'f' });
      expect(r.accepted).toBe(20);
      await until('the first PUT', async () => env.proxy.counts.PutObject >= 1);
      await cp.ok('update_connector', { connector_id: dst, status: 'SUSPENDED' });
      const final = await waitForJob(cp, r.job_id);
      const files = await allFiles(cp, r.job_id);
      expect(final.counts.exported).toBeLessThan(20);
      expect(files.filter((f) => f.status === 'failed').length).toBeGreaterThan(0);
      const failed = await cp.ok('import_status', { job_id: r.job_id, files_status: 'failed' });
      expect(failed.files[0].error).toMatch(/connector SUSPENDED/);
    } finally {
      env.proxy.setDelays({});
    }
  });

  it('an export that ends while its connector is FAILED does not make it ACTIVE again', async () => {
    const dst = await exportConnector('dst-failed');
    env.proxy.setDelays({ PutObject: 300 });
    env.proxy.resetCounts();
    try {
      const r = await cp.ok('start_export', { index: 'i', connector_id: dst, prefix: 'f' });
      await until('the first PUT', async () => env.proxy.counts.PutObject >= 1);
      // The connector loses its list permission: five failing checks make it FAILED.
      env.proxy.addFault({ match: { op: 'ListObjects' }, times: 1000, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
      for (let i = 0; i < 5; i++) await cp.call('test_connector', { connector_id: dst });
      env.proxy.clearFaults();
      expect((await cp.ok('get_connector', { connector_id: dst })).connector.status).toBe('FAILED');
      await waitForJob(cp, r.job_id);
      const c = (await cp.ok('get_connector', { connector_id: dst })).connector;
      expect(c.status).toBe('FAILED');
      expect(c.last_error).toMatch(/access denied/i);
    } finally {
      env.proxy.setDelays({});
    }
  });

  it('an export automation whose paths are all refused locally (no request made) does not fail its connector', async () => {
    const dst = await exportConnector('dst-refused');
    env.proxy.resetCounts();
    const a = (await cp.ok('create_automation', { kind: 'export', connector_id: dst, index: 'i', prefix: 'bad/', schedule: '1s' })).automation;
    await until('five finished runs', async () => {
      const x = await automation(cp, a.id);
      return x.runs >= 5 && FINAL.includes(x.last_status);
    });
    await cp.ok('update_automation', { automation_id: a.id, enabled: false });
    // No request reached the bucket: the ".." path was refused before any write.
    expect(env.proxy.counts.PutObject ?? 0).toBe(0);
    const c = (await cp.ok('get_connector', { connector_id: dst })).connector;
    expect(c.status).toBe('ACTIVE');
    expect(c.consecutive_failures).toBe(0);
  });

  it('files refused for a credential reason (403 on every PUT) count as they happen: FAILED after 5, no further writes', async () => {
    const dst = await exportConnector('dst-403');
    env.proxy.resetCounts();
    env.proxy.addFault({ match: { op: 'PutObject' }, times: 1000, action: { type: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    try {
      const r = await cp.ok('start_export', { index: 'i', connector_id: dst, prefix: 'f' });
      await waitForJob(cp, r.job_id);
      const c = (await cp.ok('get_connector', { connector_id: dst })).connector;
      expect(c.status).toBe('FAILED');
      expect(env.proxy.counts.PutObject).toBeLessThan(20);
    } finally {
      env.proxy.clearFaults();
    }
  });
});
