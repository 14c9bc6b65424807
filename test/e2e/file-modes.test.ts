import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { CLI, safeEnv, startCloudport, tempDir } from '../helpers/cloudport.js';

const mode = (file: string) => fs.statSync(file).mode & 0o777;

/** A stdio server started under `umask`, so the modes it gets cannot come from the test's own umask. */
async function startUnderUmask(dataDir: string, umask: string): Promise<Client> {
  const transport = new StdioClientTransport({ command: '/bin/sh', args: ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, CLI, '--data-dir', dataDir], env: safeEnv(), stderr: 'pipe' });
  const client = new Client({ name: 'modes-test', version: '1' });
  await client.connect(transport);
  return client;
}

const connector = { name: 'modes', provider: 's3', bucket: 'bkt', endpoint: 'http://127.0.0.1:9', validate: false, credentials: { type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-secret' } };

describe('data dir file modes', () => {
  it('cloudport.db and its -wal / -shm are 0600 like master.key, whatever the umask', async () => {
    for (const umask of ['000', '022']) {
      const dataDir = tempDir();
      const client = await startUnderUmask(dataDir, umask);
      try {
        const r = await client.callTool({ name: 'create_connector', arguments: connector });
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        // While the server runs, SQLite keeps the write-ahead log and the shared-memory index beside the database.
        for (const f of ['cloudport.db', 'cloudport.db-wal', 'cloudport.db-shm', 'master.key']) {
          expect(fs.existsSync(path.join(dataDir, f)), f).toBe(true);
          expect(mode(path.join(dataDir, f)).toString(8), `${f} under umask ${umask}`).toBe('600');
        }
        expect(mode(dataDir).toString(8)).toBe('700');
      } finally {
        await client.close();
      }
    }
  });

  it('tightens a database left 0644 by an earlier version on the next start', async () => {
    const dataDir = tempDir();
    const first = await startCloudport({ dataDir });
    await first.ok('create_connector', connector);
    await first.close();
    fs.chmodSync(path.join(dataDir, 'cloudport.db'), 0o644);
    const again = await startCloudport({ dataDir });
    try {
      expect((await again.ok('list_connectors')).connectors).toHaveLength(1);
      expect(mode(path.join(dataDir, 'cloudport.db')).toString(8)).toBe('600');
    } finally {
      await again.close();
    }
  });
});
