import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { s3Fixture } from '../providers/s3.fixture.js';

/**
 * create_automation without a name derives one from the kind, the connector's name and the index.
 * With a long connector name (create_connector allows 100 characters) that default name stays
 * well-formed text (never half of a character such as an emoji, never U+FFFD in its place) and still
 * tells automations into different indexes apart: a second automation of the same connector into
 * another index is created, not refused as a duplicate name the caller never gave.
 */
describe('automations: default names from long connector names', () => {
  const fx = s3Fixture();
  let cp: Running;
  let bucket: string;

  beforeAll(async () => {
    await fx.start();
    bucket = await fx.createBucket();
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await fx.stop();
  });

  it('is not cut inside a character', async () => {
    // "import " + 92 letters + the emoji's first half is exactly 100 UTF-16 units.
    const conn = (await cp.ok('create_connector', { name: 'a'.repeat(92) + '😀 x', ...fx.connectorInput(bucket) })).connector.id;
    const a = (await cp.ok('create_automation', { kind: 'import', connector_id: conn, index: 'docs', schedule: '1h' })).automation;
    expect(a.name.isWellFormed()).toBe(true);
    expect(a.name).not.toContain('\ufffd');
    const listed = (await cp.ok('list_automations', { connector_id: conn })).automations[0];
    expect(listed.name).toBe(a.name);
    expect(listed.name).not.toContain('\ufffd');
  });

  it('tells two indexes of one connector apart', async () => {
    const conn = (await cp.ok('create_connector', { name: 'b'.repeat(100), ...fx.connectorInput(bucket) })).connector.id;
    const one = await cp.call('create_automation', { kind: 'import', connector_id: conn, index: 'contracts', schedule: '1h' });
    expect(one.isError, one.text).toBe(false);
    const two = await cp.call('create_automation', { kind: 'import', connector_id: conn, index: 'invoices', schedule: '1h' });
    expect(two.isError, two.text).toBe(false);
    expect(two.data.automation.name).not.toBe(one.data.automation.name);
  });
});
