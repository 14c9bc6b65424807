/**
 * App.start() with warmProviders loads the client library of every provider its store's connectors use.
 * A connector row whose provider this build does not know (written by a newer build sharing the store
 * during a rolling upgrade, or a provider removed since) is left out; the known providers still load.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../../src/core/app.js';
import { s3Provider } from '../../src/providers/s3/index.js';

describe('provider preload at start', () => {
  it('preloads the known providers even when one connector names a provider this build does not know', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-rvpre-'));
    const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
    const app = await App.open({ dataDir: dir, readOnly: false, concurrency: 0, leaseMs: 30_000, pollMs: 3_600_000, idleTimeoutMs: 30_000, browseBudgetMs: 5000, retentionDays: 30, env: { CLOUDPORT_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') }, log, hashThreads: 0, warmProviders: true } as never);
    const preload = vi.spyOn(s3Provider, 'preload');
    try {
      const now = new Date().toISOString();
      const row = (id: string, provider: string) => ({
        id, org_id: 'default', name: id, provider, config: '{}', credentials_enc: '', key_version: 1, credentials_info: '{}', scopes: '[]', import_mode: 'copy',
        export_base_path: '', description: '', metadata: '{}', status: 'ACTIVE', last_sync_at: null, last_error: null, consecutive_failures: 0, created_at: now, updated_at: now,
      });
      await app.store.insertConnector(row('conn_future', 'aaa_provider_of_a_newer_build'));
      await app.store.insertConnector(row('conn_s3', 's3'));
      const names = vi.spyOn(app.store, 'connectorProviders');
      app.start();
      expect(names).toHaveBeenCalledTimes(1);
      expect(await names.mock.results[0]!.value).toEqual(expect.arrayContaining(['s3', 'aaa_provider_of_a_newer_build']));
      await new Promise((r) => setImmediate(r));
      expect(preload, 's3 is used by a connector, yet its library was not preloaded').toHaveBeenCalled();
    } finally {
      preload.mockRestore();
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
