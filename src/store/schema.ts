import type { Generated } from 'kysely';

/** Table shapes shared by every Store implementation. JSON columns are TEXT. Times: ISO strings; leases: epoch ms. */
export interface DB {
  meta: { key: string; value: string };
  orgs: { id: string; name: string; created_at: string };
  api_keys: { id: string; org_id: string; name: string; hash: string; prefix: string; read_only: number; created_at: string; revoked_at: string | null };
  schema_migrations: { version: number; name: string; applied_at: string };
  connectors: {
    id: string;
    org_id: string;
    name: string;
    provider: string;
    config: string;
    credentials_enc: string;
    key_version: number;
    credentials_info: string;
    scopes: string;
    import_mode: string;
    export_base_path: string;
    description: string;
    metadata: string;
    status: string;
    last_sync_at: string | null;
    last_error: string | null;
    consecutive_failures: number;
    created_at: string;
    updated_at: string;
  };
  jobs: {
    id: string;
    org_id: string;
    kind: string;
    connector_id: string;
    index_name: string;
    params: string;
    status: string;
    listing_state: string | null;
    /** 0: listing goes on; 1: listed to the end; 2: listing stopped short of its end (failed, canceled). */
    listing_complete: number;
    lease_owner: string | null;
    lease_expires: number;
    error: string | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    idempotency_key: string | null;
    idempotency_hash: string | null;
    automation_id: string | null;
    /** 0 while a final job's end (log line, connector health) is being written (see StoreJobs.finalizeJobs). */
    ended: Generated<number>;
  };
  job_files: {
    id: Generated<number>;
    org_id: string;
    job_id: string;
    key: string;
    size: number | null;
    etag: string | null;
    version: string | null;
    status: string;
    error: string | null;
    duplicate_of: string | null;
    sha256: string | null;
    attempts: number;
    lease_owner: string | null;
    lease_expires: number;
    /** 1 while its holder runs it with nothing else in flight (its lease lapsed before, beside other files). */
    alone: Generated<number>;
  };
  indexes: {
    org_id: string;
    name: string;
    created_at: string;
    updated_at: string;
    /** When delete_item last removed an item from it (null: never). */
    item_deleted_at: string | null;
  };
  items: {
    org_id: string;
    index_name: string;
    key: string;
    connector_id: string;
    size: number;
    sha256: string;
    content_type: string;
    etag: string | null;
    imported_at: string;
    /** The key of this index whose item holds the same content (the one first stored), or null. */
    duplicate_of: string | null;
  };
  automations: {
    id: string;
    org_id: string;
    name: string;
    kind: string;
    connector_id: string;
    index_name: string;
    params: string;
    schedule: string;
    enabled: number;
    /** Epoch ms of the next run; the scheduler claims a run by compare-and-set on it. */
    next_run_at: number;
    last_run_at: string | null;
    last_job_id: string | null;
    last_error: string | null;
    runs: number;
    skipped: number;
    created_at: string;
    updated_at: string;
    /** Where the connector's change feed stood when the last run started (google_drive); null: unknown. */
    change_token: string | null;
  };
  /** The text extracted from a content hash (once per content, shared by every item that holds it). */
  texts: {
    sha256: string;
    /** extracted, truncated, unsupported, failed or empty. */
    status: string;
    detail: string | null;
    /** pdf, docx, xlsx, html, xml, text or binary. */
    format: string;
    /** 1 when the text is not the content's own bytes (documents, markup). */
    derived: number;
    /** UTF-8 bytes of the text. */
    bytes: number;
    extracted_at: string;
  };
  /** A text in pieces of a few KB, in order; their bodies joined are the text. SQLite indexes them in text_fts (FTS5), PostgreSQL in `tsv`. */
  text_chunks: {
    id: Generated<number>;
    sha256: string;
    seq: number;
    /** UTF-8 byte offset in the text. */
    off: number;
    body: string;
  };
  import_seen: { org_id: string; connector_id: string; index_name: string; key: string; version: string; updated_at: string };
  job_logs: {
    id: Generated<number>;
    org_id: string;
    job_id: string;
    connector_id: string;
    time: string;
    level: string;
    key: string | null;
    message: string;
  };
}
