import type { Selectable, Insertable } from 'kysely';
import type { DB } from './schema.js';

export type ConnectorRow = Selectable<DB['connectors']>;
export type ApiKeyRow = Selectable<DB['api_keys']> & { org_name: string };
export type JobRow = Selectable<DB['jobs']>;
export type JobFileRow = Selectable<DB['job_files']>;
export type ItemRow = Selectable<DB['items']>;
export type NewConnector = Insertable<DB['connectors']>;
export type NewJob = Insertable<DB['jobs']>;
export type AutomationRow = Selectable<DB['automations']>;
export type NewAutomation = Insertable<DB['automations']>;

export const FILE_STATES = ['pending', 'ready', 'deduped', 'skipped', 'failed', 'canceled'] as const;
export type FileState = (typeof FILE_STATES)[number];
export const JOB_STATES = ['queued', 'running', 'completed', 'completed_with_errors', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_JOB_STATES: readonly JobState[] = ['completed', 'completed_with_errors', 'failed', 'canceled'];
/** The `code` of a store error saying its database could not be reached (the condition passes; no caller is at fault). */
export const STORE_UNREACHABLE = 'STORE_UNREACHABLE';

export interface FileCounts {
  pending: number;
  ready: number;
  deduped: number;
  skipped: number;
  failed: number;
  canceled: number;
}

export interface JobProgress {
  counts: FileCounts;
  bytes_done: number;
  bytes_total: number;
}

/** A file listed for a job (before it is stored). */
export interface ListedFile {
  key: string;
  size: number | null;
  etag: string | null;
  version: string | null;
  /** Set when the file's final state is known at listing time (skipped, or failed with error). */
  status?: FileState;
  error?: string | null;
}

/** The last error of a file whose worker stopped (crashed, killed) or stalled past its lease while working on it. */
export const LEASE_LAPSED = 'its worker stopped or stalled while working on it (the lease ran out)';

/**
 * Whether a file's last holder stopped while working on it: it may have died of this file (an object whose
 * download or extraction takes the process down), so the file runs with nothing else in flight
 * (Store.markAlone). The claim that takes it over records LEASE_LAPSED as its error.
 */
export const lapsedBefore = (f: { error: string | null }): boolean => f.error === LEASE_LAPSED;

export interface ClaimedFile extends JobFileRow {
  connector_id: string;
  index_name: string;
  params: string;
  /** The job's kind ("import" or "export"): which handler works the file. */
  kind: string;
}

export interface ClaimOptions {
  excludeConnectors?: string[];
  /** Claims of one file before it fails for good (default 5). */
  maxAttempts?: number;
  /** Wait before the second retry of a file whose worker died holding it; doubles per attempt (default 1000 ms). */
  backoffMs?: number;
}

export interface CommitFile {
  fileId: number;
  owner: string;
  orgId: string;
  connectorId: string;
  index: string;
  key: string;
  sha256: string;
  size: number;
  contentType: string;
  etag: string | null;
  version: string;
  dedupe: boolean;
  now: string;
  /** The content's extracted text, written with the item unless the content has one already. */
  text?: TextPayload;
}

/** What extraction found in a content hash, in chunks ready for the search index. */
export interface TextPayload {
  status: 'extracted' | 'truncated' | 'unsupported' | 'failed' | 'empty';
  detail: string | null;
  format: string;
  derived: boolean;
  bytes: number;
  chunks: { seq: number; off: number; body: string }[];
}

export interface TextInfo {
  status: TextPayload['status'];
  detail: string | null;
  format: string;
  derived: boolean;
  bytes: number;
}

/** A search, compiled by the core for both stores (store/kysely/texts.ts picks the one of its dialect). */
export interface TextSearch {
  /** An FTS5 MATCH expression. */
  fts5: string;
  /** A tsquery over folded words, cast as it is (PostgreSQL's parser would split words anew). */
  tsquery: string;
  /** The tsquery that ranks, when it is not `tsquery`: its excluded terms left out (ts_rank scores a negation as nothing). */
  tsqueryRank?: string;
  /**
   * Set when a chunk alone cannot decide (several clauses, or excluded terms) in a store that holds
   * texts of several chunks: the chunks are then ranked by `fts5Any` or `tsqueryAny`, and an item
   * counts only when its text as a whole passes the test below.
   */
  item?: {
    fts5Any: string;
    tsqueryAny: string;
    tsqueryAnyRank?: string;
    /** Each must match some chunk of the text. */
    fts5All: string[];
    tsqueryAll: string[];
    /** Must match no chunk of the text. */
    fts5None: string | null;
    tsqueryNone: string | null;
  };
  /** Index names to search; all of the org's when absent. */
  indexes?: string[];
  prefix?: string;
  offset: number;
  limit: number;
}

export interface TextHit {
  index_name: string;
  key: string;
  sha256: string;
  /**
   * Relevance relative to the search's best result (1), higher is better. Never the rank function's
   * own value: on SQLite, BM25 weighs a word by how many passages of the whole store hold it, other
   * organizations' included, and that figure must not show.
   */
  score: number;
  /** The best chunk of the item: its offset in the text and its body. */
  off: number;
  body: string;
  status: TextPayload['status'];
}

export interface HealthOutcome {
  ok: boolean;
  error?: string;
  /** Consecutive failures after which an ACTIVE connector becomes FAILED. */
  failAfter: number;
  /** Set last_sync_at (a successful import). */
  synced?: boolean;
  now: string;
}

export interface Page<T> {
  rows: T[];
  /** The sort key of the last row, when there may be more. */
  next: string | null;
}

export interface IndexSummary {
  name: string;
  items: number;
  bytes: number;
  updated_at: string;
}

export interface LogEntry {
  id: number;
  time: string;
  level: string;
  job_id: string;
  key: string | null;
  message: string;
}

/** Small settings shared by every process of the store (meta rows). */
export interface StoreMeta {
  getMeta(key: string): Promise<string | null>;
  /** Sets key to value (replacing what is there). */
  setMeta(key: string, value: string): Promise<void>;
  deleteMeta(key: string): Promise<void>;
  /** Sets key to value unless it is already set; returns the value now stored. */
  setMetaOnce(key: string, value: string): Promise<string>;
}

/** Connectors and their health. */
export interface StoreConnectors {
  countConnectors(): Promise<number>;
  /** Provider names of the connectors, of every organization, that are not archived (what a worker may be asked to reach). */
  connectorProviders(): Promise<string[]>;
  insertConnector(row: NewConnector): Promise<void>;
  getConnector(org: string, id: string): Promise<ConnectorRow | null>;
  findConnectorByName(org: string, name: string): Promise<ConnectorRow | null>;
  listConnectors(org: string, opts: { status?: string; after?: string; limit: number }): Promise<Page<ConnectorRow>>;
  updateConnector(org: string, id: string, patch: Partial<NewConnector>): Promise<ConnectorRow | null>;
  /** Deletes a connector with its automations and seen versions, in one transaction (its jobs and items stay). */
  deleteConnector(org: string, id: string): Promise<boolean>;
  /**
   * Finishes deletes an older version left half-done (it deleted a connector, then its automations, in
   * separate steps): removes automations and seen versions whose connector is gone. Returns the rows removed.
   */
  sweepOrphans(): Promise<number>;
  recordHealth(org: string, id: string, outcome: HealthOutcome): Promise<ConnectorRow | null>;
}

/** The work queue: a job's listed files, the listing lease, file claims and leases, and how a claimed file ends without an item. */
export interface StoreQueue {
  /**
   * Creates a job with its first listed files in one transaction, `started` (if given) the first line
   * of its log, before the errors of files listed as failed. `indexMustExist`: the files were judged
   * against the index as it was (new_only's skipped files); if it was deleted since, nothing is created
   * and the answer is false (call again to judge against what is there now).
   */
  createJob(job: NewJob, files: ListedFile[], started?: string, opts?: { indexMustExist?: boolean }): Promise<boolean>;
  /**
   * Creates the job unless the organization's index has an active job of its kind that covers it, and
   * returns that job instead (a running one first): one still listing, or one with files pending and,
   * with `cover: 'missing-text'`, a file pending for every item of the index without text (its key and
   * content). Atomic across processes.
   */
  createJobUnlessActive(job: NewJob, files: ListedFile[], cover: 'any' | 'missing-text', started?: string): Promise<JobRow | null>;
  /** Appends one listing page and moves the listing cursor, atomically, if `owner` still holds the listing lease. */
  appendListing(jobId: string, owner: string, files: ListedFile[], state: string | null, complete: boolean, leaseMs: number): Promise<boolean>;
  /** Claims the listing of one job whose listing is incomplete and unleased. */
  claimListing(owner: string, leaseMs: number): Promise<JobRow | null>;
  failListing(jobId: string, owner: string, error: string, now: string): Promise<void>;
  /**
   * Leases up to `limit` pending files (oldest first), leaving out files of `excludeConnectors` (a worker's
   * per-connector limit). Each claim counts an attempt; a file already claimed `maxAttempts` times fails
   * instead, with "gave up after N attempts: <last error>" (also in its job's log). A file whose lease ran
   * out (its worker died) records that as its last error (LEASE_LAPSED). If it ran alone (markAlone), the
   * death was its own: the attempt counts, and from its second try on it waits a growing backoff. If other
   * files were in flight beside it, any of them may have caused the death: its attempt is refunded, so a
   * file that kills its process does not use up its neighbours' attempts, and it runs alone next.
   */
  claimFiles(owner: string, limit: number, leaseMs: number, now: string, opts?: ClaimOptions): Promise<ClaimedFile[]>;
  /** Extends the leases `owner` holds; returns ids of files no longer pending (canceled meanwhile). */
  heartbeat(owner: string, fileIds: number[], jobIds: string[], leaseMs: number): Promise<{ lostFiles: number[] }>;
  /**
   * Hands back every lease `owner` holds (a clean stop), or only those of `fileIds` (files claimed but not
   * started); the files' claims do not count as attempts.
   */
  releaseLeases(owner: string, fileIds?: number[]): Promise<void>;
  /** The owners that hold leases now (of files or of listings), at most `limit`. */
  leaseOwners(limit: number): Promise<string[]>;
  /**
   * Lets the leases of `owners` (processes known to be gone) run out now, as if their time had passed:
   * what a lapse counts (an attempt of a file run alone) counts the same.
   */
  expireLeases(owners: string[]): Promise<void>;
  /**
   * Records that `owner` starts the file with nothing else in flight, so that its lease lapsing counts
   * as the file's own attempt (see claimFiles); false if `owner` no longer holds it.
   */
  markAlone(fileId: number, owner: string): Promise<boolean>;
  /** Ends a file that needs no item (an export) in `ready` or `skipped`, recording its hash and size (and, skipped, why: `note`, shown as its error); false if the lease was lost. */
  completeFile(fileId: number, owner: string, outcome: { status: 'ready' | 'skipped'; sha256: string | null; size: number | null; note?: string }): Promise<boolean>;
  /**
   * Hands a claimed file back to pending until `retryAt` (store clock, epoch ms) with `note` as its error,
   * without counting the claim as an attempt: the trouble was not the file's (e.g. the store was full).
   */
  deferFile(fileId: number, owner: string, retryAt: number, note: string): Promise<void>;
  /** Ends a file in `failed` (or back to pending with a later lease for a retry). */
  failFile(fileId: number, owner: string, error: string, retryAt: number | null): Promise<void>;
  seenVersions(org: string, connectorId: string, index: string, keys: string[]): Promise<Map<string, string>>;
}

/** Jobs as a whole: reading them, their progress and logs, canceling, finalizing and pruning them. */
export interface StoreJobs {
  getJob(org: string, id: string): Promise<JobRow | null>;
  /** Jobs of a connector that are not final. */
  countActiveJobs(org: string, connectorId: string): Promise<number>;
  countActiveJobsForIndex(org: string, index: string): Promise<number>;
  jobProgress(jobId: string): Promise<JobProgress>;
  jobsProgress(jobIds: string[]): Promise<Map<string, JobProgress>>;
  listJobFiles(jobId: string, opts: { status?: FileState; afterId?: number; limit: number }): Promise<JobFileRow[]>;
  findJobByIdempotencyKey(org: string, key: string): Promise<JobRow | null>;
  /** Jobs newest first (created_at, then id, both descending), optionally filtered; `before` is the last row of the previous page. */
  listJobs(org: string, opts: { connectorId?: string; index?: string; status?: string; automationId?: string; kind?: string; before?: { createdAt: string; id: string }; limit: number }): Promise<JobRow[]>;
  /** The job as canceled now (`canceledNow`), or as it was when already final; null when it is not the org's. */
  /**
   * Leaves a job canceled now unended, leased to `end.owner` (the canceling process's engine, which
   * writes its end and keeps the lease alive meanwhile) for `end.leaseMs` (default: no owner, 30 s); once
   * the lease lapses a worker's tick writes the end.
   */
  cancelJob(org: string, id: string, now: string, end?: { owner: string; leaseMs: number }): Promise<(JobRow & { canceledNow?: true }) | null>;
  /**
   * Moves jobs whose work is done to their final state; returns the jobs it finalized. With `end`, each
   * is leased to `end.owner` with ended = 0 until markJobEnded (its end line and connector health
   * written), and final jobs whose end lease lapsed unwritten are leased and returned too.
   */
  finalizeJobs(now: string, end?: { owner: string; leaseMs: number }): Promise<JobRow[]>;
  /** The job's end is written: long polls may answer, and no process writes it again. */
  markJobEnded(id: string): Promise<void>;
  /** Marks queued jobs that have work as running. */
  startJobs(now: string): Promise<void>;
  addLog(entry: { org_id: string; job_id: string; connector_id: string; level: string; key?: string | null; message: string; time: string }): Promise<void>;
  listLogs(org: string, opts: { jobId?: string; connectorId?: string; afterId?: number; limit: number }): Promise<LogEntry[]>;
  /** Deletes finished jobs (with their files and logs) that finished before `before`. */
  pruneJobs(before: string): Promise<number>;
}

/** How a file's commit ended. */
export interface CommitResult {
  status: 'ready' | 'deduped';
  duplicate_of: string | null;
  /** The content the key held before this commit gave it new content: nothing may reference it any more (blob GC decides). */
  replaced?: string;
}

/** Indexes and their items, and the commit that writes an imported file's item. */
export interface StoreItems {
  /** Stores an imported file's item (dedupe decided inside the transaction); null if the lease was lost. */
  commitFile(c: CommitFile): Promise<CommitResult | null>;
  /**
   * commitFile for several files: on SQLite in order, in one transaction (when one of them fails,
   * each is committed alone, so one file's error never takes the others with it); on PostgreSQL
   * concurrently, one transaction per file (its row and index locks are then never held across
   * files), so of two files with the same content either may be the one that becomes ready.
   * Each entry is a commitFile result, or the Error that file's commit threw.
   * `place` (SQLite only) runs inside the transaction for each file whose lease still holds, before
   * its rows are written: it puts the file's blob in place (a rename). Blob GC removes blobs inside a
   * write transaction too, so it can never see the blob without its item; when `place` throws, that
   * file's entry is the error and it gets no rows.
   */
  commitFiles(cs: CommitFile[], place?: (c: CommitFile) => void): Promise<(CommitResult | null | Error)[]>;
  listIndexes(org: string, opts: { after?: string; limit: number }): Promise<IndexSummary[]>;
  /**
   * Deletes an index with its items; returns the blob ids its items referenced, or null for no such
   * index. With `unlessActive`, 'busy' instead when a job of the index is queued or running (checked
   * under the index's lock, which a job judged against the index takes to be created: the two never cross).
   */
  deleteIndex(org: string, index: string, opts?: { unlessActive?: boolean }): Promise<string[] | null | 'busy'>;
  /** Deletes one item; returns its blob id, or null when there was no such item. */
  deleteItem(org: string, index: string, key: string): Promise<string | null>;
  listItems(org: string, index: string, opts: { prefix?: string; after?: string; limit: number }): Promise<ItemRow[]>;
  getItem(org: string, index: string, key: string): Promise<ItemRow | null>;
  indexExists(org: string, index: string): Promise<boolean>;
  /** When delete_item last removed an item from the index (null: never), or null when there is no such index. */
  indexDeletions(org: string, index: string): Promise<{ itemDeletedAt: string | null } | null>;
}

/** References to blobs from items and in-flight files, and the GC that removes unreferenced blobs. */
export interface StoreBlobRefs {
  /** Records a downloaded file's hash before its blob is committed, so blob GC treats the blob as in use. */
  markHashed(fileId: number, owner: string, sha256: string): Promise<boolean>;
  /** markHashed for several files of one owner in one transaction; true where the mark was taken. */
  markHashedMany(files: { fileId: number; sha256: string }[], owner: string): Promise<boolean[]>;
  /** True when some item still references this blob. */
  blobReferenced(sha256: string): Promise<boolean>;
  /** The contents among `shas` that some item of the organization holds. */
  contentsHeld(org: string, shas: string[]): Promise<Set<string>>;
  /**
   * Calls `unlink` for each candidate blob that no item and no in-flight file references, under a
   * lock that markHashed respects, so no import can record a reference to a blob while it is removed.
   * `unlink` may be synchronous or return a promise (an object store's DELETE); see gcBlobs in kysely/blob-refs.ts.
   */
  gcBlobs(candidates: string[], unlink: (sha256: string) => void | Promise<void>): Promise<number>;
}

/** Organizations and their API keys. */
export interface StoreKeys {
  /** The organization with this name, created on first use. */
  ensureOrg(name: string, id: string, now: string): Promise<{ id: string; name: string }>;
  insertApiKey(row: Insertable<DB['api_keys']>): Promise<void>;
  /** The key with this hash (revoked or not), with its organization's name. */
  findApiKey(hash: string): Promise<ApiKeyRow | null>;
  listApiKeys(): Promise<ApiKeyRow[]>;
  /** Which of these keys exist and are not revoked. */
  activeApiKeyIds(ids: string[]): Promise<string[]>;
  revokeApiKey(id: string, now: string): Promise<boolean>;
}

/** Automations (schedules that start imports) and the trail of their runs. */
export interface StoreAutomations {
  insertAutomation(row: NewAutomation): Promise<void>;
  getAutomation(org: string, id: string): Promise<AutomationRow | null>;
  findAutomationByName(org: string, name: string): Promise<AutomationRow | null>;
  /** Automations by id, optionally of one connector. */
  listAutomations(org: string, opts: { connectorId?: string; after?: string; limit: number }): Promise<AutomationRow[]>;
  updateAutomation(org: string, id: string, patch: Partial<NewAutomation>): Promise<AutomationRow | null>;
  deleteAutomation(org: string, id: string): Promise<boolean>;
  /** Deletes a connector's automations (when the connector is deleted); returns how many. */
  deleteConnectorAutomations(org: string, connectorId: string): Promise<number>;
  /** The earliest next_run_at of any enabled automation (every organization; of `kinds` only, when given), or null. */
  nextAutomationRun(kinds?: readonly string[]): Promise<number | null>;
  /** Enabled automations (every organization; of `kinds` only, when given) whose next_run_at is at or before `now` (epoch ms), earliest first. */
  dueAutomations(now: number, limit: number, kinds?: readonly string[]): Promise<AutomationRow[]>;
  /**
   * Compare-and-set: applies `patch` only if the automation's next_run_at still equals `expected`
   * (one UPDATE … WHERE next_run_at = ?), so among processes sharing a store exactly one wins a run.
   */
  casAutomation(id: string, expected: number, patch: Partial<NewAutomation>): Promise<boolean>;
  /**
   * Deletes an automation's finished runs that found nothing to do (completed, every file skipped or
   * none), with their files and logs, except `keepJobId`: idle runs leave no trail beyond the latest.
   */
  pruneIdleAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number>;
  /**
   * Finished runs of an automation (but `keepJobId`) keep a count of their skipped files instead of
   * one row each: deletes those rows and adds their number to `compacted` in the job's listing_state.
   */
  compactAutomationRuns(org: string, automationId: string, keepJobId: string): Promise<number>;
}

/**
 * Persistence for connectors, jobs, items and logs. Methods are domain operations, each atomic,
 * so that every implementation (SQLite embedded, PostgreSQL for scale-out) can use its own
 * transaction and locking model. Every row carries an organization id. The contract is split by
 * concern, one interface each, as the implementation is (src/store/kysely/).
 */
/** Extracted texts (by content hash) and full-text search over the items that hold them. */
export interface StoreTexts {
  /** Which of these contents have a text (of any status) already. */
  textsKnown(shas: string[]): Promise<Set<string>>;
  textInfo(shas: string[]): Promise<Map<string, TextInfo>>;
  /** Writes a content's text unless it has one; with `replace`, replaces it (reindex). */
  saveText(sha256: string, text: TextPayload, now: string, replace?: boolean): Promise<void>;
  /** The chunks that cover bytes [offset, offset + length) of a content's text, in order. */
  readText(sha256: string, offset: number, length: number): Promise<{ off: number; body: string }[]>;
  /** `exact`: `total` was counted (else estimated from the matching chunks). */
  searchTexts(org: string, q: TextSearch): Promise<{ hits: TextHit[]; total: number; exact: boolean }>;
  /**
   * Which of these indexes hold an item whose content has no text (search's hint when nothing matched).
   * Each index costs a scan of its items; the answer is kept while the store is unchanged.
   */
  indexesWithoutText(org: string, indexes: string[]): Promise<string[]>;
  /** Items of an index (after `after`, by key) whose content has no text, or every item with `all`. */
  itemsToExtract(org: string, index: string, opts: { after?: string; limit: number; all?: boolean }): Promise<{ key: string; sha256: string; content_type: string; size: number }[]>;
}

/**
 * What other processes sharing the store did to jobs: created one (`queued`), or ended one (`final`).
 * `resync`: events may have been missed (the channel was down), so look again.
 */
export type JobEvent = { kind: 'queued' } | { kind: 'final'; jobId: string } | { kind: 'resync' };

export interface Store extends StoreMeta, StoreConnectors, StoreQueue, StoreJobs, StoreItems, StoreBlobRefs, StoreKeys, StoreAutomations, StoreTexts {
  /** sqlite: transactions are synchronous (commitFiles can place blobs inside them); postgres: a shared server. */
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Hears job events of every process on the store, its own included, as soon as they commit (PostgreSQL:
   * LISTEN/NOTIFY). Absent where one process owns the store. A hint only: pollers stay the ground truth.
   * Returns the unsubscribe.
   */
  watchJobs?(fn: (e: JobEvent) => void): () => void;
  /** Tells the processes watching (watchJobs) of a job event that the store cannot see itself: a job's end, once its end is written. */
  announceJob?(e: JobEvent): void;
  close(): Promise<void>;
}
