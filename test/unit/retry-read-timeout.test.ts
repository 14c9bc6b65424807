/**
 * The retry budget and the download's limit on reads with no answer, on providers of our own making
 * (the StorageProvider interface, no SDK): without a throttle factor every temporary error counts
 * against one budget; with one, throttling has its own; a read that never answers is given up after
 * the idle timeout and tried again, leaving no listener behind; a provider whose read resolves only
 * after its work (Drive's, readAnswersAtHeaders false) has no such limit; a job cancel after the answer
 * still ends the body.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withRetry } from '../../src/core/domain/retry.js';
import { CloudportError } from '../../src/shared/errors.js';
import { downloadObject } from '../../src/core/jobs/import/download.js';
import { LocalBlobStore } from '../../src/store/blobs.js';

const policy = { attempts: 3, baseMs: 1, maxMs: 1 };
const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-read-'));
function provider(read: (key: string, req: { offset?: number; signal?: AbortSignal }) => Promise<unknown>, readAnswersAtHeaders = true) {
  return { capabilities: { rangedRead: true, contentEtag: false, readAnswersAtHeaders, delimiter: true, write: false, maxPageSize: 1000 }, read } as never;
}

describe('withRetry', () => {
  const mixed = () => {
    let calls = 0;
    const fn = async () => {
      calls++;
      throw calls % 2 ? new CloudportError('rate_limited', 'slow down', { temporary: true }) : new CloudportError('unexpected', '500', { temporary: true });
    };
    return { fn, calls: () => calls };
  };

  it('without a throttle factor, gives up after `attempts` calls across every temporary error', async () => {
    const m = mixed();
    await expect(withRetry(m.fn, policy)).rejects.toThrow();
    expect(m.calls()).toBe(3);
  });

  it('with a throttle factor, throttled answers have their own budget', async () => {
    let calls = 0;
    const r = await withRetry(async () => {
      if (++calls <= 5) throw new CloudportError('rate_limited', 'slow down', { temporary: true });
      return 'ok';
    }, { ...policy, throttleFactor: 3 });
    expect({ r, calls }).toEqual({ r: 'ok', calls: 6 });
  });
});

describe('reads with no answer', () => {
  it('a read that never answers is given up after the idle timeout and tried again; no listener is left', async () => {
    const bytes = Buffer.from('x'.repeat(100));
    let n = 0;
    const p = provider(
      (_k, req) =>
        new Promise((resolve, reject) => {
          if (++n === 1) return req.signal?.addEventListener('abort', () => reject(req.signal!.reason)); // never answers
          resolve({ body: Readable.from([bytes]), length: bytes.length, size: bytes.length, version: 'v', etag: 'e' });
        }),
    );
    const ctl = new AbortController();
    const blobs = new LocalBlobStore(dataDir());
    for (let i = 0; i < 20; i++) expect((await downloadObject(p, blobs, `k${i}`, { retry: policy, idleTimeoutMs: 50, signal: ctl.signal })).size).toBe(100);
    expect(n).toBe(21);
    await new Promise((r) => setImmediate(r));
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
  });

  it('a provider whose read resolves after its work (a Drive export gathered whole) has no such limit', async () => {
    const bytes = Buffer.from('hello world');
    const p = provider(
      () => new Promise((resolve) => setTimeout(() => resolve({ body: Readable.from([bytes]), length: bytes.length, size: bytes.length, version: 'v', etag: 'e' }), 250)),
      false,
    );
    const d = await downloadObject(p, new LocalBlobStore(dataDir()), 'doc.docx', { retry: policy, idleTimeoutMs: 50, signal: new AbortController().signal });
    expect(d.size).toBe(bytes.length);
  });

  it('a job cancel after the answer ends the body through the linked signal', async () => {
    let seen: AbortSignal | undefined;
    const p = provider(async (_k, req) => {
      seen = req.signal;
      const body = new Readable({ read() {} });
      body.push(Buffer.alloc(10));
      return { body, length: 100, size: 100, version: 'v', etag: 'e' };
    });
    const ctl = new AbortController();
    const d = downloadObject(p, new LocalBlobStore(dataDir()), 'k', { retry: policy, idleTimeoutMs: 5000, signal: ctl.signal });
    await new Promise((r) => setTimeout(r, 50));
    ctl.abort(new Error('canceled'));
    await expect(d).rejects.toThrow();
    expect(seen?.aborted).toBe(true);
  });
});
