import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Prompt collection of streamed bytes. Every chunk a socket delivers is a fresh ArrayBuffer outside
 * V8's heap (the read buffer, then the HTTP parser's copy of the body); they die at once, but V8
 * frees them only in a young-generation GC, which it starts after its 16 MiB semi-space fills with
 * JS objects or tens of MiB of such buffers are outstanding: while a large download streams, 30–60
 * MB of dead chunks sit in memory. A minor GC every few MiB of body bytes frees them (it costs
 * about as much as the GC V8 would run later anyway, since dead chunks cost a scavenge nothing).
 *
 * The `gc` function comes from a fresh context made after setting --expose-gc (the way Jest's leak
 * detector gets it): only contexts made later see a `gc` global, and cloudport makes none. The flag
 * stays set, because V8 flags are process-wide and the hash workers read it the same way (turning
 * it off again could race with them). Where it is refused, nothing happens.
 */
type Gc = (o: { type: 'minor' | 'major' }) => void;
let gc: Gc | null | undefined;
let since = 0;

/** Minor-GC interval in body bytes (measured on 4 × 256 MiB: 4 and 8 MiB alike, 16 MiB keeps 10 MB more). */
export const RECLAIM_EVERY = 8 * 1024 * 1024;

function exposed(): Gc | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as Gc;
  } catch {
    return null;
  }
}

/** Counts body bytes; after every RECLAIM_EVERY of them runs a minor GC. */
export function reclaimAfter(bytes: number): void {
  since += bytes;
  if (since < RECLAIM_EVERY) return;
  since = 0;
  if (gc === undefined) gc = exposed();
  gc?.({ type: 'minor' });
}
