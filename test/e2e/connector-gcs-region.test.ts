import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
// @ts-expect-error plain JS test support
import { startGcsServer } from '../support/gcs-server.mjs';
import { FIXTURE_SA } from '../providers/gcs.fixture.js';

/**
 * create_connector and update_connector never drop a field silently: another provider's field is
 * refused ("project_id is a field of gcs connectors…"), so `region` on a gcs connector, which the gcs
 * provider does not keep, is refused on the field `region` too (or kept and shown), never answered as
 * a success with `region: null`.
 */

let gcs: any;
let cp: Running;

beforeAll(async () => {
  gcs = await startGcsServer();
  gcs.createBucket('region-bkt');
  await gcs.put('region-bkt', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await gcs?.stop();
});

const base = () => ({ provider: 'gcs', bucket: 'region-bkt', endpoint: gcs.endpoint, credentials: { type: 'service_account', json: FIXTURE_SA } });

describe('gcs region', () => {
  it('create_connector {region} on gcs is refused on region or kept, not dropped', async () => {
    const r = await cp.call('create_connector', { ...base(), name: 'g-region', region: 'europe-west1' });
    if (r.isError) expect(r.data.error.field).toBe('region');
    else expect(r.data.connector.region).toBe('europe-west1');
  });

  it('update_connector {region} on gcs is refused on region or kept, not dropped', async () => {
    const c = (await cp.ok('create_connector', { ...base(), name: 'g-plain' })).connector;
    const r = await cp.call('update_connector', { connector_id: c.id, region: 'europe-west1' });
    if (r.isError) expect(r.data.error.field).toBe('region');
    else expect(r.data.connector.region).toBe('europe-west1');
  });
});
