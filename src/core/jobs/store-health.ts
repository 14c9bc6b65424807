import { STORE_UNREACHABLE, type Store } from '../../store/types.js';
import type { Logger } from '../../shared/log.js';

/** True when the store refused a write for lack of space: SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100). */
export function isStoreFull(e: unknown): boolean {
  const err = e as { code?: unknown; pgCode?: unknown; message?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (err.code === 'SQLITE_FULL' || err.code === '53100' || err.pgCode === '53100') return true;
  return typeof err.message === 'string' && /database or disk is full/.test(err.message);
}

/** How a file waiting on the store says why (kept on the file while it waits). */
export function storeWaitNote(e: unknown, message: string): string {
  return isStoreFull(e) ? `store full: ${message}; tried again when space is freed` : `store unreachable: ${message}; tried again when it answers`;
}

/** True when the store said it could not reach its database (a PostgreSQL restart, a network blip). */
export function isStoreUnreachable(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === STORE_UNREACHABLE;
}

/** Meta row through which every process sharing the store sees that one of them found it full (written when it fits). */
const META_KEY = 'store_full';
/** A full store is logged at most this often per process, however many writes it refuses meanwhile. */
const LOG_EVERY_MS = 60_000;
/** A full store that refused nothing for this long is no longer reported. */
const FORGET_MS = 2 * 60_000;

/**
 * What this process knows about the store running out of space. A full store is not any file's fault:
 * work waits (the engine pauses its claims for `retryMs`, files go back to pending without counting an
 * attempt), import_status shows one job-level warning, and the log says it once per minute instead of
 * once per refused write. The first write that succeeds again (a file committed) ends the condition.
 */
export class StoreHealth {
  private since = 0;
  private lastSeen = 0;
  private lastLog = 0;
  private suppressed = 0;
  private reason = '';
  /** A meta row may be left from an earlier process: the first recovery deletes it. */
  private metaMaybeSet = true;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    /** How long work waits before it tries the store again. */
    readonly retryMs: number,
  ) {}

  /**
   * Records `e` if it says the store is full or out of reach (and returns true): neither is a file's
   * fault, so work waits as for a full store. Other errors are left to the caller.
   */
  report(e: unknown): boolean {
    const full = isStoreFull(e);
    if (!full && !isStoreUnreachable(e)) return false;
    const now = Date.now();
    if (!this.since || now - this.lastSeen > FORGET_MS) this.since = now;
    this.lastSeen = now;
    this.reason = `${full ? 'store full' : 'store unreachable'}: ${String((e as Error).message ?? e).slice(0, 300)}`;
    if (now - this.lastLog < LOG_EVERY_MS) {
      this.suppressed++;
      return true;
    }
    this.lastLog = now;
    this.log.warn(`${this.reason}; import work waits and resumes when ${full ? 'space is freed' : 'the store answers again'}`, {
      since: new Date(this.since).toISOString(),
      refused_writes_since_last_line: this.suppressed,
    });
    this.suppressed = 0;
    this.metaMaybeSet = true;
    const value = JSON.stringify({ reason: this.reason, since: this.since, at: now });
    void this.store.setMeta(META_KEY, value).catch(() => undefined); // often refused too: the warning stays in this process then
    return true;
  }

  /**
   * A file's work failed on `e`: when the store is full or out of reach (report), the file goes back to
   * pending for a later try without counting the attempt, its note saying why (as import_status shows
   * it), and true is returned; any other error is the caller's to fail the file with.
   */
  async defer(file: { id: number; org_id: string }, owner: string, e: unknown, scrub: (message: string) => string): Promise<boolean> {
    if (!this.report(e)) return false;
    const note = storeWaitNote(e, scrub((e as Error).message));
    await this.store.deferFile(file.id, owner, Date.now() + this.retryMs, note).catch((e2) => this.report(e2) || this.log.warn('handing a file back failed; its lease runs out instead', { error: (e2 as Error).message }));
    return true;
  }

  /** Claims wait until then while the store is full. */
  pausedUntil(): number {
    return this.lastSeen ? this.lastSeen + this.retryMs : 0;
  }

  /** A write went through: the store has room again. */
  ok(): void {
    if (this.lastSeen) {
      this.log.info('store takes writes again; import work resumes', { since: new Date(this.since).toISOString() });
      this.since = this.lastSeen = this.lastLog = this.suppressed = 0;
    }
    if (this.metaMaybeSet) {
      this.metaMaybeSet = false;
      void this.store.deleteMeta(META_KEY).catch(() => (this.metaMaybeSet = true));
    }
  }

  /** The job-level warning for import_status while the store is (or was lately) full, seen by this process or another. */
  async warning(): Promise<string | null> {
    const now = Date.now();
    let reason = this.lastSeen && now - this.lastSeen < FORGET_MS ? this.reason : null;
    if (!reason) {
      const raw = await this.store.getMeta(META_KEY).catch(() => null);
      if (raw) {
        try {
          const v = JSON.parse(raw) as { reason?: string; at?: number };
          if (typeof v.reason === 'string' && Number(v.at) > now - FORGET_MS) reason = v.reason;
        } catch {
          reason = null;
        }
      }
    }
    return reason ? `${reason}; the job resumes when ${reason.startsWith('store full') ? 'space is freed' : 'the store answers again'}` : null;
  }
}
