import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { lapsedBefore, type ClaimedFile, type JobRow, type Store } from '../../store/types.js';
import type { Logger } from '../../shared/log.js';
import { AdaptiveConcurrency } from './concurrency.js';
import { StoreHealth } from './store-health.js';
import { processAlive } from '../../shared/process.js';

/** Attempts at writing a job's end that failed for reasons other than the store's health, before it counts as written. */
const END_TRIES = 5;

/**
 * The durable job engine. All state lives in the store; this process only holds leases.
 * Work units (a job's listing, one file) are claimed with a lease, kept alive by a heartbeat,
 * and taken over by any process once a lease expires, so a crash or restart loses nothing
 * and two processes never work the same unit at once.
 */
export interface JobHandlers {
  /** Lists the next page of a job whose listing is incomplete (the engine holds its lease). */
  listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void>;
  /**
   * Brings one claimed file to a final state (or back to pending for a later retry). `release`, when the
   * handler calls it, says the file no longer needs a slot (its transfer is done; it waits for its
   * batch to be written): the engine starts another file while this one finishes. `waitMs`: how long
   * of its slot the file waited for the service's first byte (what adaptive concurrency weighs).
   */
  processFile(file: ClaimedFile, owner: string, signal: AbortSignal, release: (waitMs?: number) => void): Promise<void>;
  /**
   * Called once a job reaches a final state (its end: log line, connector health), by one process at a
   * time; again only when the store failed under it (the end is then written once more, later).
   */
  onFinalized(job: JobRow): Promise<void>;
}

export interface EngineOptions {
  /** Files worked at once by this process. 0 disables the engine's workers. */
  concurrency: number;
  /**
   * Above `concurrency`: the number of files worked at once adapts between the two to the service's
   * latency (AdaptiveConcurrency); `concurrency` is where it starts.
   */
  maxConcurrency?: number;
  /** At most this many files of one connector worked at once by this process (default: every slot). */
  connectorConcurrency?: number;
  leaseMs: number;
  pollMs: number;
  /** Claims of one file before it fails for good (default 5). */
  maxAttempts?: number;
  log: Logger;
  /** Asked before each claim: false stops this process from taking new work (a stdio server on a store a front door now serves). */
  mayClaim?: () => Promise<boolean>;
}

/** An idle engine polls at most this many poll intervals apart (1 s at the default 250 ms). */
const IDLE_POLLS_MAX = 4;

/**
 * Imports larger than this keep to the configured number of slots, as do imports of unknown or zero
 * listed size (a Google Drive document, exported whole in memory, is listed with size 0), exports and
 * reindexing. The slots adaptive concurrency adds hide the service's latency for small downloads, while
 * a large file's slot is busy moving bytes (and holds buffers and disk bandwidth), an export holds its
 * bytes in memory while it uploads, and a reindex is CPU work: more of them at once would cost memory.
 */
const LARGE_FILE = 8 * 1024 * 1024;

/** Whether a file keeps to the configured number of slots whatever the adaptive limit (see LARGE_FILE). */
const keepsToBase = (f: ClaimedFile) => f.kind !== 'import' || !(f.size !== null && f.size > 0 && f.size <= LARGE_FILE);

/**
 * The process table a lease owner's pid belongs to: the host's name, then (where Linux tells) the boot
 * and the pid namespace. Two processes that share it see each other's pids; none other does.
 */
const PROCESS_TABLE = (() => {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    const ns = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1];
    return boot && ns ? `${os.hostname()}/${boot}.${ns}` : os.hostname();
  } catch {
    return os.hostname();
  }
})();
/** Owners of the engines of this process (an embedder may run several): never taken over as stopped. */
const ENGINE_OWNERS = new Set<string>();

export class JobEngine {
  readonly owner = `${PROCESS_TABLE}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** Failed attempts at writing a job's end for reasons the store's health does not name (see finalized). */
  private readonly endFailures = new Map<string, number>();
  /** Jobs whose end this process is writing now (a tick's, or a cancel's): their leases are kept alive, and no tick starts them again. */
  private readonly ending = new Set<string>();
  /** Files this process holds, from their start until processFile ends; `slot`: not yet released. */
  private readonly files = new Map<number, { job: string; connector: string; ctl: AbortController; slot: boolean; started: number; kept: boolean }>();
  /**
   * Files holding a slot (at most `concurrency`): a released file keeps its lease until it lands, but
   * the next one starts. At most as many released files as slots, so a slow store holds back the transfers.
   */
  private slots = 0;
  /** Files that keep to the configured number (keepsToBase) holding a slot: at most `concurrency` of them. */
  private baseSlots = 0;
  /** Such files held from their start until processFile ends (in a slot or released, waiting to land): at most 2 × `concurrency`. */
  private keptHeld = 0;
  /** Whether the last claim that found files brought any that do not keep to `concurrency` (adaptiveClaim). */
  private claimsFindOthers = true;
  /** Files holding a slot per connector (for the per-connector limit). */
  private readonly perConnector = new Map<string, number>();
  /** Files claimed ahead (leased, heartbeated), so claims happen once per batch rather than once per file. */
  private queue: ClaimedFile[] = [];
  /**
   * The file this process runs alone (from marking it until processFile ends): its last holder died while
   * working on it, maybe of it. Nothing else starts and nothing is claimed meanwhile, so if it kills this
   * process too, the death is its own and no other file is charged for it (Store.claimFiles).
   */
  private alone: number | null = null;
  /** After marking a file to run alone failed (the store refused the write): not before this time (epoch ms). */
  private aloneRetryAt = 0;
  private readonly listings = new Map<string, AbortController>();
  private running = false;
  private wakeUp: (() => void) | null = null;
  /** Set by wake() while a tick runs, so the wake-up is not lost: the loop ticks again at once. */
  private dirty = false;
  /** Whether the next tick also looks for new listings (not needed when only a file finished). */
  private full = true;
  /** Set when this process finished its last file of a job: the next tick checks for finished jobs. */
  private finalizeSoon = true;
  /** Poll intervals to wait before the next periodic tick: doubles while ticks find nothing to do (see run()). */
  private idlePolls = 1;
  private loop: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(jobId: string, final: boolean) => void>();

  /** Whether the store is refusing writes for lack of space (see StoreHealth). */
  readonly health: StoreHealth;
  /** Set when the number of files at once adapts (no --workers given). */
  private readonly adaptive: AdaptiveConcurrency | null;

  constructor(
    private readonly store: Store,
    private readonly handlers: JobHandlers,
    private readonly opts: EngineOptions,
  ) {
    this.health = new StoreHealth(store, opts.log, Math.min(30_000, Math.max(1000, opts.leaseMs)));
    this.adaptive = opts.concurrency > 0 && (opts.maxConcurrency ?? 0) > opts.concurrency ? new AdaptiveConcurrency(opts.concurrency, opts.maxConcurrency!, opts.log) : null;
  }

  /** Files this process works at once now. */
  private limit(): number {
    return this.adaptive?.limit ?? this.opts.concurrency;
  }

  /** A download of file `fileId` was throttled by its service (429/503): adaptive concurrency backs off. */
  throttled(fileId: number): void {
    const held = this.files.get(fileId);
    if (held && !held.kept) this.adaptive?.throttled(held.started);
  }

  start(): void {
    if (this.running || this.opts.concurrency <= 0) return;
    this.running = true;
    ENGINE_OWNERS.add(this.owner);
    void this.takeOverStopped().catch((e) => this.opts.log.debug('looking for leases of stopped processes failed', { error: (e as Error).message }));
    this.loop = this.run();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(200, Math.floor(this.opts.leaseMs / 3)));
  }

  /**
   * Leases held by processes of this host that are gone (killed, crashed; an owner is host:pid:tag) run
   * out now rather than at their time: a server restarted after kill -9 takes its work over at once, and
   * what a lapse counts (an attempt of a file that ran alone) counts the same. A pid that is this
   * process's with another tag is a predecessor's (pid 1 in a container, restarted).
   */
  private async takeOverStopped(): Promise<void> {
    // Only owners of this very process table: a hostname alone is shared by containers with their own
    // pid namespaces (host networking) and by cloned VMs, whose live workers must keep their leases.
    if (!PROCESS_TABLE.includes('/')) return;
    const host = `${PROCESS_TABLE}:`;
    const gone = (await this.store.leaseOwners(1000)).filter((o) => {
      if (!o.startsWith(host) || ENGINE_OWNERS.has(o)) return false;
      const pid = Number(o.slice(host.length).split(':')[0]);
      return Number.isInteger(pid) && pid > 0 && (pid === process.pid || !processAlive(pid));
    });
    if (!gone.length) return;
    await this.store.expireLeases(gone);
    this.opts.log.info('took over the work of stopped processes of this host', { processes: gone.length });
    this.wake();
  }

  /** False with --workers 0: this process claims no job work (workers on the same store do). */
  get runsWork(): boolean {
    return this.opts.concurrency > 0;
  }

  /** How long a job's work stays with this process without a heartbeat (also a canceled job's end, see cancelJob). */
  get leaseMs(): number {
    return this.opts.leaseMs;
  }

  /** Look for work now instead of at the next poll. */
  wake(full = true): void {
    this.dirty = true;
    this.idlePolls = 1;
    if (full) this.full = true;
    this.wakeUp?.();
  }

  /** Subscribe to "something changed in job X" (a file finished; `final`: the job finalized). */
  onChange(fn: (jobId: string, final: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(jobId: string, final = false): void {
    for (const fn of this.listeners) fn(jobId, final);
  }

  /** Aborts this process's in-flight work for a job (after it was canceled in the store). */
  abortJob(jobId: string): void {
    this.queue = this.queue.filter((f) => f.job_id !== jobId);
    for (const w of this.files.values()) if (w.job === jobId) w.ctl.abort(new Error('canceled'));
    this.listings.get(jobId)?.abort(new Error('canceled'));
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.dirty = false;
      const full = this.full;
      this.full = false;
      try {
        await this.tick(full);
      } catch (e) {
        if (!this.health.report(e)) this.opts.log.error('job engine tick failed', { error: (e as Error).message });
      }
      if (!this.running) break;
      if (this.dirty) continue;
      // A periodic tick that left nothing in hand here (no file, listing or job end) was an idle one:
      // each one doubles the wait before the next, up to IDLE_POLLS_MAX intervals, so an idle server
      // stays quiet (a tick is a few store transactions). Work this process is given (a new job, a job
      // event another process sends on PostgreSQL) wakes it at once, whatever the wait; only work that
      // only polls discover (a retry coming due, another process's job on SQLite) waits up to that.
      const idle = full && !this.files.size && !this.listings.size && !this.queue.length && !this.ending.size;
      const waitMs = this.opts.pollMs * (idle ? this.idlePolls : 1);
      this.idlePolls = idle ? Math.min(IDLE_POLLS_MAX, this.idlePolls * 2) : 1;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.full = true;
          resolve();
        }, waitMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  /** A job became final (its last file, or a cancel): its handler writes the end, and waiters hear of it. */
  async finalized(job: JobRow): Promise<void> {
    if (this.ending.has(job.id)) return;
    this.ending.add(job.id);
    try {
      await this.writeEnd(job);
    } finally {
      this.ending.delete(job.id);
    }
  }

  private async writeEnd(job: JobRow): Promise<void> {
    this.opts.log.info('job finished', { job_id: job.id, status: job.status });
    try {
      await this.handlers.onFinalized(job);
      this.endFailures.delete(job.id);
    } catch (e) {
      // Left unended, the end is written again at a later tick, by this process or, once the lease lapses,
      // another: always when the store is out of reach (or full), up to END_TRIES times for any other
      // error (a lock held too long, or a fault of ours that would fail every time: then it is logged
      // and the end counts as written, so no tick repeats it for ever).
      if (this.health.report(e)) return;
      const tries = (this.endFailures.get(job.id) ?? 0) + 1;
      if (tries < END_TRIES) {
        this.endFailures.set(job.id, tries);
        this.opts.log.warn('writing the job end failed; trying again', { job_id: job.id, attempt: tries, error: (e as Error).message });
        return;
      }
      this.endFailures.delete(job.id);
      this.opts.log.error('onFinalized failed', { job_id: job.id, error: (e as Error).message });
    }
    if (job.ended === 0) {
      try {
        await this.store.markJobEnded(job.id);
      } catch (e) {
        if (!this.health.report(e)) this.opts.log.error('marking the job ended failed', { job_id: job.id, error: (e as Error).message });
        return;
      }
    }
    // Waiters here and in other processes hear of the end once it is written (its log line, the connector's health).
    this.store.announceJob?.({ kind: 'final', jobId: job.id });
    this.notify(job.id, true);
  }

  private async tick(full: boolean): Promise<void> {
    const now = new Date().toISOString();
    // A job can only have become final if this is a periodic (full) tick or this process just finished
    // its last file of a job; otherwise skip the query (one store transaction less per file).
    if (full || this.finalizeSoon) {
      this.finalizeSoon = false;
      for (const job of await this.store.finalizeJobs(now, { owner: this.owner, leaseMs: this.opts.leaseMs })) await this.finalized(job);
    }
    if (this.opts.mayClaim && !(await this.opts.mayClaim())) return;
    if (full && this.listings.size < 2) {
      const job = await this.store.claimListing(this.owner, this.opts.leaseMs);
      if (job) {
        const ctl = new AbortController();
        this.listings.set(job.id, ctl);
        void this.handlers
          .listNext(job, this.owner, ctl.signal)
          .catch((e) => this.health.report(e) || this.opts.log.error('listing failed', { job_id: job.id, error: (e as Error).message }))
          .finally(() => {
            this.listings.delete(job.id);
            this.notify(job.id);
            this.wake();
          });
      }
    }
    // Keep up to one batch claimed ahead of the workers. Files of a connector at its limit wait in the
    // queue and do not count as work ahead; such a connector is left out of further claims once it has
    // a full batch of its own in flight and queued, so other connectors' files get the free slots.
    const cap = this.cap();
    const queued = new Map<string, number>();
    for (const f of this.queue) queued.set(f.connector_id, (queued.get(f.connector_id) ?? 0) + 1);
    // (When one connector may take every slot, its queued files wait only for a free slot: all are work ahead.)
    const limit = this.limit();
    const ready = cap >= limit ? this.queue.length : this.queue.filter((f) => (this.perConnector.get(f.connector_id) ?? 0) < cap).length;
    // Claim again once the ready queue is down to one round of work: in steady state one claim brings
    // a few rounds of files (a store transaction every 10–20 small files, not one per file).
    // While the store is full, claims wait a little: each claimed file would be downloaded only to be handed back.
    const storeFull = this.health.pausedUntil() > Date.now();
    // A file waiting to run alone (or running alone) stops claims: what is held drains, then it runs by
    // itself, and no file claimed meanwhile is held by a process it may kill.
    const suspect = this.alone !== null || this.queue.some(lapsedBefore);
    // (With ready ≤ --workers and slots ≤ --workers, a claim brings at least one round.)
    const { claim, want } = this.adaptive ? this.adaptiveClaim(limit, cap) : { claim: ready <= limit || this.slots + ready < limit, want: 3 * limit - this.slots - ready };
    if (!storeFull && !suspect && claim) {
      const exclude = cap < limit ? [...new Set([...queued.keys(), ...this.perConnector.keys()])].filter((c) => (queued.get(c) ?? 0) + (this.perConnector.get(c) ?? 0) >= 2 * cap) : [];
      if (want > 0) {
        // The time of the claim itself: the tick's `now` is older than a job created while it ran, and a
        // file's first claim is its job's started_at.
        const claimed = await this.store.claimFiles(this.owner, want, this.opts.leaseMs, new Date().toISOString(), {
          ...(exclude.length ? { excludeConnectors: exclude } : {}),
          maxAttempts: this.opts.maxAttempts,
          // A file whose worker died holding it waits about a lease (doubling per attempt) before its next try.
          backoffMs: Math.min(this.opts.leaseMs, 30_000),
        });
        // Stopped meanwhile: stop() hands back every lease of this owner once this tick ends; start none of them.
        if (!this.running) return;
        // A late heartbeat can let one of our own leases lapse; re-claiming it renewed the lease, but it must not run twice here.
        const mine = new Set([...this.files.keys(), ...this.queue.map((f) => f.id)]);
        const fresh = claimed.filter((f) => !mine.has(f.id));
        // One file to run alone at a time here: the others go back at once, for other processes to run
        // alone meanwhile (or this one, later), rather than wait here one after another. Should handing
        // them back fail, they stay queued here (leased and heartbeated as the rest).
        const suspects = fresh.filter(lapsedBefore).slice(1);
        const back = new Set(suspects);
        this.queue.push(...fresh.filter((f) => !back.has(f)));
        if (claimed.length) this.claimsFindOthers = claimed.some((f) => !keepsToBase(f));
        if (suspects.length) {
          const handedBack = await this.store.releaseLeases(this.owner, suspects.map((f) => f.id)).then(
            () => true,
            (e) => this.health.report(e) || this.opts.log.warn('handing back files to run alone failed; they wait here', { error: (e as Error).message }),
          );
          if (handedBack !== true) this.queue.push(...suspects);
        }
      }
    }
    this.fill();
  }

  /** Starts queued files while slots are free; a file to run alone once nothing else is in flight. */
  private fill(): void {
    // After stop(): a released file must not start another. While a file runs alone, nothing else starts.
    if (!this.running || this.alone !== null) return;
    const cap = this.cap();
    const limit = this.limit();
    for (let i = 0; i < this.queue.length && this.slots < limit && this.files.size < 2 * limit; ) {
      const file = this.queue[i]!;
      const busy = this.perConnector.get(file.connector_id) ?? 0;
      const large = keepsToBase(file);
      if (lapsedBefore(file) || busy >= cap || (large && (this.baseSlots >= this.opts.concurrency || this.keptHeld >= 2 * this.opts.concurrency))) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.startFile(file);
    }
    const next = this.files.size === 0 && Date.now() >= this.aloneRetryAt ? this.queue.findIndex(lapsedBefore) : -1;
    if (next >= 0) this.startAlone(this.queue.splice(next, 1)[0]!);
  }

  /** Records in the store that `file` runs alone (its lease lapsing is then its own attempt), then starts it. */
  private startAlone(file: ClaimedFile): void {
    this.alone = file.id;
    this.store.markAlone(file.id, this.owner).then(
      (held) => {
        if (held && this.running) return this.startFile(file);
        this.alone = null;
        // Not held any more (canceled, or its lease lost): it is dropped, as a heartbeat would drop it.
        if (!this.holdsJob(file.job_id)) this.finalizeSoon = true;
        this.notify(file.job_id);
        this.wake(false);
      },
      (e) => {
        // The store refused the write (full, busy, out of reach): the file waits in the queue, and the
        // next try comes with a later tick (a store that fails at once would otherwise be asked again
        // and again without the event loop ever turning).
        if (!this.health.report(e)) this.opts.log.warn('marking a file to run alone failed; trying again later', { job_id: file.job_id, error: (e as Error).message });
        this.queue.unshift(file);
        this.aloneRetryAt = Math.max(Date.now() + this.opts.pollMs, this.health.pausedUntil());
        this.alone = null;
      },
    );
  }

  private startFile(file: ClaimedFile): void {
    const busy = this.perConnector.get(file.connector_id) ?? 0;
    const large = keepsToBase(file);
    const ctl = new AbortController();
    const held = { job: file.job_id, connector: file.connector_id, ctl, slot: true, started: performance.now(), kept: large };
    this.files.set(file.id, held);
    this.slots++;
    if (large) this.baseSlots++;
    if (large) this.keptHeld++;
    this.adaptive?.occupancy(this.slots - this.baseSlots, this.baseSlots);
    this.perConnector.set(file.connector_id, busy + 1);
    const release = (waitMs?: number) => {
      if (!held.slot) return;
      held.slot = false;
      // Files kept to --workers are not what the limit is for: they say nothing about it.
      if (waitMs !== undefined && !large) this.adaptive?.sample(held.started, performance.now() - held.started, waitMs);
      this.slots--;
      if (large) this.baseSlots--;
      this.adaptive?.occupancy(this.slots - this.baseSlots, this.baseSlots);
      const n = (this.perConnector.get(file.connector_id) ?? 1) - 1;
      if (n > 0) this.perConnector.set(file.connector_id, n);
      else this.perConnector.delete(file.connector_id);
    };
    void this.handlers
      .processFile(file, this.owner, ctl.signal, (waitMs) => {
        release(waitMs);
        // The next queued file starts at once; a tick (a claim) only when the queue runs low.
        this.fill();
        if (this.queue.length <= this.limit()) this.wake(false);
      })
      .catch((e) => this.health.report(e) || this.opts.log.error('file processing failed', { job_id: file.job_id, error: (e as Error).message }))
      .finally(() => {
        release();
        this.files.delete(file.id);
        if (this.alone === file.id) this.alone = null;
        if (large) this.keptHeld--;
        if (!this.holdsJob(file.job_id)) this.finalizeSoon = true;
        this.notify(file.job_id);
        this.wake(false);
      });
  }

  /**
   * Claims under an adaptive limit budget the files kept to --workers (keepsToBase) apart from the
   * others, counting only queued files that can start (not those of a connector at its cap). While
   * claims keep finding other files, those claim as under a fixed limit (again once one round is left,
   * up to three rounds less what runs), a claim brings one to three rounds of --workers, and none is
   * made while two rounds of kept files wait, so small files keep the slots above --workers behind a
   * run of large ones. Once a claim brings kept files only (a store of large files), claims follow
   * them as a fixed --workers would, so this process leases no more of them than it would.
   */
  private adaptiveClaim(limit: number, cap: number): { claim: boolean; want: number } {
    const base = this.opts.concurrency;
    let kept = 0;
    let others = 0;
    for (const f of this.queue) {
      // (As for `ready`: when one connector may take every slot, its queued files wait only for a free slot.)
      if (cap < limit && (this.perConnector.get(f.connector_id) ?? 0) >= cap) continue;
      if (keepsToBase(f)) kept++;
      else others++;
    }
    if (!this.claimsFindOthers) return { claim: kept <= base || this.baseSlots + kept < base, want: 3 * base - this.baseSlots - kept };
    const running = this.slots - this.baseSlots;
    return { claim: kept < 2 * base && others <= limit, want: Math.min(3 * base, Math.max(base, 3 * limit - running - others)) };
  }

  private holdsJob(jobId: string): boolean {
    for (const w of this.files.values()) if (w.job === jobId) return true;
    return this.queue.some((f) => f.job_id === jobId);
  }

  private cap(): number {
    const limit = this.limit();
    return Math.max(1, Math.min(this.opts.connectorConcurrency ?? limit, limit));
  }

  /** What this process is working on (for health checks and tests). */
  stats(): { concurrency: number; connector_concurrency: number; in_flight: number; queued: number; listings: number } {
    return { concurrency: this.limit(), connector_concurrency: this.cap(), in_flight: this.files.size, queued: this.queue.length, listings: this.listings.size };
  }

  private async heartbeat(): Promise<void> {
    if (!this.files.size && !this.listings.size && !this.queue.length && !this.ending.size) return;
    try {
      const ids = [...this.files.keys(), ...this.queue.map((f) => f.id)];
      const { lostFiles } = await this.store.heartbeat(this.owner, ids, [...this.listings.keys(), ...this.ending], this.opts.leaseMs);
      const lost = new Set(lostFiles);
      this.queue = this.queue.filter((f) => !lost.has(f.id));
      for (const id of lostFiles) this.files.get(id)?.ctl.abort(new Error('lease lost'));
    } catch (e) {
      if (!this.health.report(e)) this.opts.log.warn('heartbeat failed', { error: (e as Error).message });
    }
  }

  /** Stops claiming, aborts in-flight work and hands its leases back so another process (or the next start) resumes at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.queue = [];
    for (const w of this.files.values()) w.ctl.abort(new Error('shutting down'));
    for (const c of this.listings.values()) c.abort(new Error('shutting down'));
    await this.loop;
    const deadline = Date.now() + 5000;
    while ((this.files.size || this.listings.size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.store.releaseLeases(this.owner);
  }
}
