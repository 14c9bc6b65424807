import type { ClaimedFile } from '../../src/store/types.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger that writes nothing, for engines under test. */
export const quietLog = { info() {}, warn() {}, error() {}, debug() {} } as never;

/**
 * The part of the Store a JobEngine uses to claim and hold files, in memory: files are handed out in
 * the order added (by id, as the real store does), skipping the connectors a claim excludes; every
 * claim's size is recorded, and a claim can be made to take a while (a store a few round trips away).
 */
export function fakeJobStore() {
  const pending: ClaimedFile[] = [];
  let id = 0;
  const s = {
    pending,
    /** `want` of every claim, in order. */
    claims: [] as number[],
    /** How long a claim takes. */
    claimDelayMs: 0,
    /** Files over 8 MiB handed out so far. */
    claimedLarge: 0,
    /** Files marked to run alone (markAlone), in order. */
    alone: [] as number[],
    /** Files handed back (releaseLeases with ids), in order. */
    handedBack: [] as number[],
    /** `error`: LEASE_LAPSED for a file whose last holder died (it runs alone). */
    add(n: number, f: { size: number | null; kind?: string; connector?: string; error?: string }) {
      for (let i = 0; i < n; i++) pending.push({ id: ++id, job_id: `j-${f.connector ?? 'c1'}`, connector_id: f.connector ?? 'c1', kind: f.kind ?? 'import', key: `k${id}`, params: '{}', attempts: 1, size: f.size, error: f.error ?? null } as unknown as ClaimedFile);
    },
    async finalizeJobs() {
      return [];
    },
    async claimListing() {
      return null;
    },
    async claimFiles(_o: string, want: number, _lease?: number, _now?: string, opts?: { excludeConnectors?: string[] }) {
      s.claims.push(want);
      if (s.claimDelayMs) await sleep(s.claimDelayMs);
      const ex = new Set(opts?.excludeConnectors ?? []);
      const got: ClaimedFile[] = [];
      for (let i = 0; i < pending.length && got.length < want; ) {
        if (ex.has(pending[i]!.connector_id)) i++;
        else got.push(pending.splice(i, 1)[0]!);
      }
      s.claimedLarge += got.filter((f) => (f.size ?? 0) > 8 * 1024 * 1024).length;
      for (const f of got) s.held.set(f.id, f);
      return got;
    },
    async heartbeat() {
      return { lostFiles: [] };
    },
    /** With ids, those files go back to pending (in id order); without, nothing (a stop). */
    async releaseLeases(_o: string, ids?: number[]) {
      if (!ids) return;
      s.handedBack.push(...ids);
      // (The engine hands back only files it claimed: the test keeps them to put back.)
      for (const id of ids) {
        const f = s.held.get(id);
        if (f && !pending.includes(f)) pending.push(f);
      }
      pending.sort((a, b) => a.id - b.id);
    },
    async markAlone(fileId: number) {
      s.alone.push(fileId);
      return true;
    },
    /** Every file handed out so far. */
    held: new Map<number, ClaimedFile>(),
    async setMeta() {},
    async deleteMeta() {},
  };
  return s;
}

/** Polls `cond` until it holds (the limit only bounds the wait; nothing is asserted about time). */
export async function until(cond: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(2);
  }
}
