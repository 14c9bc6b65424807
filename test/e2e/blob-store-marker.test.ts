import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCloudport, tempDir } from '../helpers/cloudport.js';

/**
 * The blob store's marker (`.cloudport-content-id`, whose id the store records): a fresh data dir gets
 * one at the first start, and the same server starts again on it; an empty marker (a write cut short
 * by a crash) counts as none and is replaced, instead of keeping every later start from working.
 */
describe('the blob store marker', () => {
  it('is written at the first start, kept at the next, and an empty one is replaced', async () => {
    const dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'blobs', '.cloudport-content-id'), '');
    const first = await startCloudport({ dataDir });
    await first.ok('list_connectors', {});
    await first.close();
    const id = fs.readFileSync(path.join(dataDir, 'blobs', '.cloudport-content-id'), 'utf8').trim();
    expect(id).toMatch(/^bs_[0-9a-f]{24}$/);
    const again = await startCloudport({ dataDir });
    await again.ok('list_connectors', {});
    await again.close();
    expect(fs.readFileSync(path.join(dataDir, 'blobs', '.cloudport-content-id'), 'utf8').trim()).toBe(id);
    expect(fs.readdirSync(path.join(dataDir, 'blobs')).filter((n) => n.startsWith('.cloudport-content-id.'))).toEqual([]);
  });
});
