import { ConnectorCache, FAIL_AFTER } from './health.js';
import { busyError } from '../domain/busy.js';
import { CloudportError, invalid, notFound } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { nestedDeeperThan } from '../../shared/depth.js';
import { brief } from '../../shared/text.js';
import { SecretHolder, redact, scrubError } from '../../shared/redact.js';
import { getProvider, PROVIDER_NAMES } from '../../providers/index.js';
import type { Check, LocationConfig, ProviderDefinition } from '../../providers/types.js';
import type { ConnectorRow, Store, NewConnector } from '../../store/types.js';
import type { SecretBox, SecretInput } from './secrets.js';
import { checkEnvName, secretRefs } from './secrets.js';
import type { ProviderPool } from './provider-pool.js';
import type { SecurityPolicy } from './endpoint-policy.js';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { checkName as checkSharedName } from '../domain/names.js';
import { pathProblem } from '../domain/object-path.js';

export const CONNECTOR_STATUSES = ['ACTIVE', 'SUSPENDED', 'FAILED', 'ARCHIVED'] as const;
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number];
export const SCOPES = ['import', 'export'] as const;
export const IMPORT_MODES = ['all', 'new_only'] as const;
export { FAIL_AFTER };

export type CredentialsInput = { type: string } & Record<string, SecretInput | string | undefined>;

export interface ConnectorInput {
  name: string;
  provider: string;
  /** Location fields (bucket, region, endpoint, and any a provider adds); each provider reads its own. */
  bucket?: string;
  region?: string;
  endpoint?: string;
  credentials: CredentialsInput;
  scopes?: string[];
  import_mode?: string;
  export_base_path?: string;
  description?: string;
  metadata?: Record<string, unknown>;
  validate?: boolean;
}

export type ConnectorPatch = Partial<Omit<ConnectorInput, 'provider'>> & { provider?: string; status?: string };

export interface ConnectorView {
  id: string;
  name: string;
  provider: string;
  bucket: string;
  region: string | null;
  endpoint: string | null;
  /** Provider-specific location settings beyond bucket/region/endpoint (e.g. an Azure account name). */
  location?: Record<string, unknown>;
  scopes: string[];
  import_mode: string;
  export_base_path: string;
  description: string;
  metadata: Record<string, unknown>;
  status: ConnectorStatus;
  is_active: boolean;
  last_sync_at: string | null;
  last_error: string | null;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
  credentials: { type: string; hint?: string; refs?: { field: string; env?: string; file?: string }[] };
}

export interface TestResult {
  success: boolean;
  message: string;
  checks: { name: Check['name']; ok: boolean; status: Check['status']; detail?: string; fix?: string }[];
}

const BASE_LOCATION = new Set(['bucket', 'region', 'endpoint']);

export function toView(c: ConnectorRow): ConnectorView {
  const cfg = JSON.parse(c.config) as LocationConfig;
  const extra = Object.fromEntries(Object.entries(cfg).filter(([k, v]) => !BASE_LOCATION.has(k) && v !== null && v !== undefined));
  return {
    id: c.id,
    name: c.name,
    provider: c.provider,
    bucket: cfg.bucket,
    region: cfg.region ?? null,
    endpoint: cfg.endpoint ?? null,
    ...(Object.keys(extra).length ? { location: extra } : {}),
    scopes: JSON.parse(c.scopes) as string[],
    import_mode: c.import_mode,
    export_base_path: c.export_base_path,
    description: c.description,
    metadata: JSON.parse(c.metadata) as Record<string, unknown>,
    status: c.status as ConnectorStatus,
    is_active: c.status === 'ACTIVE',
    last_sync_at: c.last_sync_at,
    last_error: c.last_error,
    consecutive_failures: c.consecutive_failures,
    created_at: c.created_at,
    updated_at: c.updated_at,
    credentials: JSON.parse(c.credentials_info) as ConnectorView['credentials'],
  };
}

/** The location fields a provider declares, taken from a create or update input. */
function locationInput(def: ProviderDefinition, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(def.locationFields)) if (input[k] !== undefined) out[k] = input[k];
  return out;
}

/** Another provider's field in a create or update (project_id on an s3 connector) is refused, not silently dropped. */
function refuseOthersFields(def: ProviderDefinition, input: Record<string, unknown>): void {
  for (const k of Object.keys(input)) {
    // endpoint is every provider's (checked apart).
    if (input[k] === undefined || k in def.locationFields || k === 'endpoint') continue;
    const owners = PROVIDER_NAMES.filter((p) => k in getProvider(p).locationFields);
    if (owners.length) throw invalid(k, `${k} is a field of ${owners.join(' and ')} connectors; ${def.name} connectors do not use it`, k === 'bucket' && 'container' in def.locationFields ? 'Give the container\'s name as container.' : 'Leave it out.');
  }
}

function checkEndpoint(endpoint: unknown): string | null {
  if (endpoint !== undefined && endpoint !== null && typeof endpoint !== 'string') throw invalid('endpoint', 'endpoint must be a string URL');
  if (endpoint === undefined || endpoint === null || endpoint === '') return null;
  let url: URL;
  try {
    url = new URL(endpoint as string);
  } catch {
    // Echoed without anything before the last "@": a password there (with a "/" in it, as AWS
    // secrets have) is what made it unparsable, whatever the scheme's slashes look like.
    const raw = endpoint as string;
    const userinfo = raw.includes('@');
    const shown = brief(userinfo ? `[redacted]@${raw.slice(raw.lastIndexOf('@') + 1)}` : raw, 200);
    throw invalid(
      'endpoint',
      `endpoint ${JSON.stringify(shown)} is not a URL`,
      userinfo ? 'Put credentials in the credentials field, never in the URL; give the endpoint as "https://host[:port]".' : 'Give a full URL such as "https://s3.example.com" or "http://127.0.0.1:9000".',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('endpoint', 'endpoint must use http or https', 'Use "https://host[:port]".');
  if (url.username || url.password) throw invalid('endpoint', 'endpoint must not contain credentials', 'Put credentials in the credentials field, never in the URL.');
  if (url.search || url.hash) throw invalid('endpoint', 'endpoint must not have a query string or fragment', 'Give only scheme, host, port and (optionally) a path.');
  return url.toString().replace(/\/$/, '');
}

/** An ARCHIVED connector (final) makes no request to its storage: not a browse, not a test. */
export function refuseArchived(c: ConnectorRow, doing: string): void {
  if (c.status === 'ARCHIVED') throw new CloudportError('conflict', `connector ${c.id} is ARCHIVED, which is final: it cannot ${doing}`, { field: 'connector_id', fix: 'Create a new connector for this storage (create_connector).' });
}

/**
 * Refuses to start work of `scope` on a connector that is not ACTIVE or lacks the scope, saying why and
 * how to fix it (shared by imports, exports and automation runs).
 */
export function requireUsable(c: ConnectorRow, scope: 'import' | 'export'): void {
  if (c.status !== 'ACTIVE') {
    const fix =
      c.status === 'SUSPENDED'
        ? 'Resume it with update_connector {status: "ACTIVE"}.'
        : c.status === 'FAILED'
          ? `Fix the cause (${c.last_error ?? 'see last_error'}), then run test_connector; a passing test makes it ACTIVE again.`
          : 'ARCHIVED is final: connect the bucket again with create_connector.';
    throw new CloudportError('conflict', `connector ${c.id} is ${c.status} and cannot start ${scope}s`, { field: 'connector_id', fix });
  }
  if (!(JSON.parse(c.scopes) as string[]).includes(scope)) {
    throw new CloudportError('permission_denied', `connector ${c.id} lacks the ${scope} scope`, {
      field: 'connector_id',
      fix:
        scope === 'import'
          ? 'Add it with update_connector {scopes: ["import", ...]}.'
          : 'Add it with update_connector {scopes: [..., "export"]} (test_connector then checks the write permission).',
    });
  }
}

/** A prefix under which exports are written: relative, "/"-separated, no "." or ".." segments, ends with "/". */
export function normalizeBasePath(p: string | undefined): string {
  if (!p) return '';
  // One trailing "/" is allowed (it is added anyway); everything else is checked as export paths are.
  const rel = p.endsWith('/') ? p.slice(0, -1) : p;
  const problem = pathProblem(rel, { written: true });
  if (problem) throw invalid('export_base_path', `export_base_path is refused: ${problem}`, `Use a relative folder such as "exports/cloudport/"${/^\/+$/.test(p) ? ', or "" for the top of the bucket' : ''}.`);
  return rel + '/';
}

const checkName = (name: string) => checkSharedName(name, 'media-bucket');

/** A connector name another connector of the organization holds: one error for create, update and a lost insert race. */
const nameTaken = (name: string) =>
  new CloudportError('conflict', `a connector named ${JSON.stringify(name)} already exists`, { field: 'name', fix: 'Choose another name, or update the existing connector.' });

function checkScopes(scopes: string[] | undefined): string[] {
  const s = [...new Set(scopes && scopes.length ? scopes : ['import'])];
  for (const x of s) if (!(SCOPES as readonly string[]).includes(x)) throw invalid('scopes', `unknown scope ${JSON.stringify(x)}`, 'Allowed: "import", "export".');
  return s.sort();
}

/** Levels of objects and arrays metadata may nest (metadata itself is the first). */
export const METADATA_MAX_DEPTH = 10;

function checkMetadata(m: Record<string, unknown> | undefined): Record<string, unknown> {
  const meta = m ?? {};
  // Depth first: JSON.stringify of a deep enough value overflows the stack before any size is known.
  if (nestedDeeperThan(meta, METADATA_MAX_DEPTH)) {
    throw invalid('metadata', `metadata is nested more than ${METADATA_MAX_DEPTH} levels deep (objects and arrays)`, 'Keep metadata flat: labels and ids, e.g. {"team": "data", "ticket": "OPS-12"}.');
  }
  if (JSON.stringify(meta).length > 8192) throw invalid('metadata', 'metadata is larger than 8 KiB of JSON', 'Keep metadata small: labels and ids, not documents.');
  return meta;
}

function checkCredentials(provider: string, creds: CredentialsInput): void {
  const def = getProvider(provider);
  if (!def.credentialTypes.includes(creds.type)) {
    throw invalid('credentials.type', `credentials type ${JSON.stringify(creds.type)} is not supported for provider ${provider}`, `Allowed: ${def.credentialTypes.join(', ')}.`);
  }
  // Each provider's credential schemas are strict: a field another provider's type would take is refused here.
  const schema = def.credentialSchemas.find((s) => (s.shape as { type?: { value?: unknown } }).type?.value === creds.type);
  const parsed = schema?.safeParse(creds);
  if (parsed && !parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['credentials', ...issue.path.map(String)].join('.');
    throw invalid(issue.code === 'unrecognized_keys' ? `credentials.${(issue as { keys: string[] }).keys[0]}` : field, `${field}: ${issue.message} (for ${provider} ${creds.type} credentials)`);
  }
  def.validateCredentials?.(creds);
}

/**
 * The input a failed check points at when its error named none: a refused auth check is the
 * credentials; a missing bucket is the bucket; a right the credentials lack is the credentials.
 */
function checkField(c: Check): string | undefined {
  if (c.field) return c.field;
  // Throttling is the service's state, not an input's fault.
  if (c.kind === 'rate_limited') return undefined;
  if (c.kind === 'not_found') return 'bucket';
  if (c.name === 'write' && c.kind !== 'permission_denied') return 'export_base_path';
  return 'credentials';
}

function failedCheckError(checks: Check[], intro: string): CloudportError {
  const failed = checks.find((c) => c.status === 'failed')!;
  return new CloudportError(failed.kind ?? 'permission_denied', `${intro}: ${failed.name} check failed: ${failed.detail ?? 'failed'}`, {
    field: checkField(failed),
    fix: failed.fix,
    // An endpoint that could not be reached (or throttling) may pass later without a change.
    temporary: failed.temporary === true || failed.kind === 'rate_limited',
    details: { checks: checks.map(publicCheck) },
  });
}

function publicCheck(c: Check): TestResult['checks'][number] {
  const out: TestResult['checks'][number] = { name: c.name, ok: c.status === 'passed', status: c.status };
  if (c.detail) out.detail = c.detail;
  if (c.fix) out.fix = c.fix;
  return out;
}

export class ConnectorService {
  /** Connector rows as the import and export workers read them (short-lived; this service updates it on every change it makes). */
  readonly cache: ConnectorCache;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly pool: ProviderPool,
    private readonly readOnly: boolean,
    private readonly policy: SecurityPolicy,
  ) {
    this.cache = new ConnectorCache(store);
  }

  /**
   * Merges endpoints found inside literal credentials into the location (so get_connector shows
   * them), then applies the security policy, even with validate: false (nothing is resolved or
   * contacted then; referenced credentials are checked when resolved).
   */
  private checkPolicy(provider: string, loc: LocationConfig, creds: CredentialsInput): void {
    const def = getProvider(provider);
    // Endpoints the previous credentials carried go with them (a replaced connection string's BlobEndpoint).
    for (const k of def.credentialEndpointKeys ?? []) delete loc[k];
    Object.assign(loc, def.credentialEndpoints?.(creds) ?? {});
    // The policy first: an endpoint it refuses is refused as such, whatever else is wrong with it.
    this.policy.checkLocation(loc);
    def.checkLocationWith?.(loc, creds);
    for (const ref of secretRefs(creds)) {
      if (ref.env !== undefined) {
        checkEnvName(ref.env, ref.field);
        this.policy.checkEnvRef(ref.env, ref.field);
      }
      if (ref.file !== undefined) this.policy.checkFileRef(ref.file, ref.field);
    }
    if (def.usesAmbientIdentity?.(creds)) this.policy.checkAmbient('credentials.type');
  }

  async get(org: string, id: string): Promise<ConnectorRow> {
    const c = await this.store.getConnector(org, id);
    if (!c) throw notFound('connector', id, 'connector_id', 'list_connectors shows the connectors that exist.');
    return c;
  }

  /**
   * Runs the checks on a provider opened for this call. Its secrets are held for `org` until the
   * details are scrubbed of them, then released: a failed validation leaves nothing behind.
   */
  private async runChecks(org: string, provider: string, loc: LocationConfig, creds: Record<string, unknown>, scopes: string[], basePath: string): Promise<Check[]> {
    const secrets = new SecretHolder(org);
    try {
      const p = await this.pool.openFresh(provider, loc, creds, secrets);
      try {
        const checks = await this.checksFor(p, scopes, basePath);
        return checks.map((c) => (c.detail ? { ...c, detail: redact(c.detail, org) } : c));
      } finally {
        p.close();
      }
    } catch (e) {
      // Scrubbed while the secrets are still held: released, they would no longer be recognized.
      throw scrubError(e, org);
    } finally {
      secrets.release();
    }
  }

  /** Asks the bucket for its region when the connector gives none (providers that can tell). */
  private async detectRegion(org: string, provider: string, loc: LocationConfig, creds: Record<string, unknown>): Promise<string | null> {
    const secrets = new SecretHolder(org);
    try {
      const p = await this.pool.openFresh(provider, loc, creds, secrets);
      try {
        return p.detectRegion ? await p.detectRegion() : null;
      } catch {
        return null;
      } finally {
        p.close();
      }
    } finally {
      secrets.release();
    }
  }

  private checksFor(p: import('../../providers/types.js').StorageProvider, scopes: string[], basePath: string, readOnlyCaller = false): Promise<Check[]> {
    const wantsWrite = scopes.includes('export');
    return p.check({
      write: wantsWrite && !this.readOnly && !readOnlyCaller,
      writeSkippedReason: wantsWrite ? (this.readOnly ? 'skipped: server is in read-only mode' : 'skipped: the API key is read-only') : undefined,
      exportBasePath: basePath,
    });
  }

  async create(org: string, input: ConnectorInput): Promise<ConnectorView & { warning?: string }> {
    if (!(PROVIDER_NAMES as readonly string[]).includes(input.provider)) throw invalid('provider', `unknown provider ${JSON.stringify(input.provider)}`, `Allowed: ${PROVIDER_NAMES.join(', ')}.`);
    const def = getProvider(input.provider);
    refuseOthersFields(def, input as unknown as Record<string, unknown>);
    const name = checkName(input.name);
    const loc = def.validateLocation({ ...locationInput(def, input as unknown as Record<string, unknown>), endpoint: checkEndpoint(input.endpoint) });
    checkCredentials(input.provider, input.credentials);
    const scopes = checkScopes(input.scopes);
    const basePath = normalizeBasePath(input.export_base_path);
    if (input.description && input.description.length > 500) throw invalid('description', 'description must be at most 500 characters');
    const metadata = checkMetadata(input.metadata);
    this.checkPolicy(input.provider, loc, input.credentials);
    if (await this.store.findConnectorByName(org, name)) {
      throw nameTaken(name);
    }
    let warning: string | undefined;
    if (input.validate !== false) {
      if (loc.region === null) loc.region = await this.detectRegion(org, input.provider, loc, input.credentials);
      const checks = await this.runChecks(org, input.provider, loc, input.credentials, scopes, basePath);
      if (checks.some((c) => c.status === 'failed')) throw failedCheckError(checks, 'connector not saved');
      warning = checks.map((c) => c.warning).filter(Boolean).join('; ') || undefined;
    }
    const id = newId('conn');
    const now = new Date().toISOString();
    const hint = def.credentialHint(input.credentials);
    const refs = secretRefs(input.credentials);
    const row: NewConnector = {
      id,
      org_id: org,
      name,
      provider: input.provider,
      config: JSON.stringify(loc),
      credentials_enc: this.box.seal(JSON.stringify(input.credentials), id),
      key_version: this.box.version,
      credentials_info: JSON.stringify({ type: input.credentials.type, ...(hint ? { hint } : {}), ...(refs.length ? { refs } : {}) }),
      scopes: JSON.stringify(scopes),
      import_mode: input.import_mode ?? 'all',
      export_base_path: basePath,
      description: input.description ?? '',
      metadata: JSON.stringify(metadata),
      status: 'ACTIVE',
      last_sync_at: null,
      last_error: null,
      consecutive_failures: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.store.insertConnector(row);
    } catch (e) {
      if (String((e as Error).message).includes('UNIQUE')) throw nameTaken(name);
      throw e;
    }
    const view = toView((await this.store.getConnector(org, id))!);
    return warning ? { ...view, warning } : view;
  }

  async list(org: string, opts: { status?: string; cursor?: string; limit: number }): Promise<{ connectors: ConnectorView[]; next_cursor: string | null }> {
    const q = { status: opts.status ?? null };
    const cur = decodeCursor<{ after: string }>(org, opts.cursor, q, { after: 'string' });
    const page = await this.store.listConnectors(org, { status: opts.status, after: cur?.after, limit: opts.limit });
    return { connectors: page.rows.map(toView), next_cursor: page.next ? encodeCursor(org, { after: page.next }, q) : null };
  }

  async update(org: string, id: string, patch: ConnectorPatch): Promise<ConnectorView> {
    const c = await this.get(org, id);
    if (c.status === 'ARCHIVED') throw new CloudportError('conflict', `connector ${id} is ARCHIVED, which is final`, { field: 'status', fix: 'Connect the bucket again with create_connector (a new connector); delete_connector removes this one.' });
    if (patch.provider !== undefined && patch.provider !== c.provider) {
      throw invalid('provider', 'a connector cannot change provider', 'Create a new connector for the other provider.');
    }
    const def = getProvider(c.provider);
    refuseOthersFields(def, patch as unknown as Record<string, unknown>);
    const old = JSON.parse(c.config) as LocationConfig;
    const out: Partial<NewConnector> = {};
    const changes = locationInput(def, patch as unknown as Record<string, unknown>);
    const locChanged = Object.keys(changes).length > 0;
    const loc = locChanged
      ? // Only the provider's own fields of the stored location (not the derived `bucket` of a provider without one).
        def.validateLocation({ ...locationInput(def, old as unknown as Record<string, unknown>), ...changes, endpoint: patch.endpoint !== undefined ? checkEndpoint(patch.endpoint) : old.endpoint })
      : old;
    if (locChanged) out.config = JSON.stringify(loc);
    let creds = JSON.parse(this.box.open(c.credentials_enc, c.id)) as CredentialsInput;
    if (patch.credentials) {
      checkCredentials(c.provider, patch.credentials);
      creds = patch.credentials;
      const hint = def.credentialHint(creds);
      const refs = secretRefs(creds);
      out.credentials_enc = this.box.seal(JSON.stringify(creds), c.id);
      out.key_version = this.box.version;
      out.credentials_info = JSON.stringify({ type: creds.type, ...(hint ? { hint } : {}), ...(refs.length ? { refs } : {}) });
    }
    if (patch.name !== undefined) {
      const name = checkName(patch.name);
      const other = await this.store.findConnectorByName(org, name);
      if (other && other.id !== id) throw nameTaken(name);
      out.name = name;
    }
    const scopes = patch.scopes !== undefined ? checkScopes(patch.scopes) : (JSON.parse(c.scopes) as string[]);
    if (patch.scopes !== undefined) out.scopes = JSON.stringify(scopes);
    if (patch.import_mode !== undefined) out.import_mode = patch.import_mode;
    const basePath = patch.export_base_path !== undefined ? normalizeBasePath(patch.export_base_path) : c.export_base_path;
    if (patch.export_base_path !== undefined) out.export_base_path = basePath;
    if (patch.description !== undefined) {
      if (patch.description.length > 500) throw invalid('description', 'description must be at most 500 characters');
      out.description = patch.description;
    }
    if (patch.metadata !== undefined) out.metadata = JSON.stringify(checkMetadata(patch.metadata));
    if (patch.status !== undefined && patch.status !== c.status) {
      if (!['ACTIVE', 'SUSPENDED', 'ARCHIVED'].includes(patch.status)) throw invalid('status', `status ${patch.status} cannot be set`, 'Set ACTIVE, SUSPENDED or ARCHIVED; FAILED is set by health checks.');
      out.status = patch.status;
      if (patch.status === 'ACTIVE') {
        out.consecutive_failures = 0;
        // Out of FAILED (or a SUSPENDED that was failing) on the caller's word (validate: false): its
        // failure is no longer the state.
        if (c.status === 'FAILED' || (c.status === 'SUSPENDED' && c.consecutive_failures > 0)) out.last_error = null;
      }
    }
    if (locChanged || patch.credentials) {
      this.checkPolicy(c.provider, loc, creds);
      out.config = JSON.stringify(loc);
    }
    // Another bucket without a region given: its region is asked again (as create_connector does), the
    // old bucket's kept only when the new one does not tell. After the policy check: this contacts it.
    if (locChanged && changes.bucket !== undefined && loc.bucket !== old.bucket && patch.region === undefined && loc.region !== null && patch.validate !== false) {
      const detected = await this.detectRegion(org, c.provider, { ...loc, region: null }, creds);
      if (detected && detected !== loc.region) {
        loc.region = detected;
        out.config = JSON.stringify(loc);
      }
    }
    // Leaving FAILED (set by failed checks) takes checks that pass, as test_connector's do: a status
    // alone does not make the storage answer. validate: false sets it without them, on the caller's word.
    // A connector suspended while failing (FAILED, then SUSPENDED) takes the same checks to become ACTIVE.
    const failing = c.status === 'FAILED' || (c.status === 'SUSPENDED' && c.consecutive_failures > 0 && patch.status === 'ACTIVE');
    const revive = failing && (patch.status === 'ACTIVE' || (patch.status === undefined && (locChanged || patch.credentials !== undefined)));
    // A new export base path takes the write probe there, as create_connector's does.
    const newBase = patch.export_base_path !== undefined && basePath !== c.export_base_path && scopes.includes('export');
    const needsCheck = (locChanged || patch.credentials !== undefined || (patch.scopes !== undefined && scopes.includes('export')) || newBase || revive) && patch.validate !== false;
    if (needsCheck) {
      const checks = await this.runChecks(org, c.provider, loc, creds, scopes, basePath);
      if (checks.some((x) => x.status === 'failed')) throw failedCheckError(checks, revive && !locChanged && !patch.credentials ? `connector stays ${c.status}` : 'connector not updated');
      if (revive) Object.assign(out, { status: 'ACTIVE', consecutive_failures: 0, last_error: null });
    }
    out.updated_at = new Date().toISOString();
    const row = await this.store.updateConnector(org, id, out);
    this.cache.set(id, row);
    return toView(row!);
  }

  /** Deletes a connector with its automations; answers the automations' ids (the first 100) and count. */
  async delete(org: string, id: string): Promise<{ automations: string[]; automations_deleted: number }> {
    await this.get(org, id);
    const active = await this.store.countActiveJobs(org, id);
    if (active > 0) {
      throw await busyError(this.store, org, { connectorId: id }, active, `connector ${id} has ${active} job(s) still`, 'connector_id');
    }
    // Its automations go with it, in the same transaction (their jobs stay); listed first to say which.
    const autos: string[] = [];
    for (let after: string | undefined; ; ) {
      const rows = await this.store.listAutomations(org, { connectorId: id, ...(after ? { after } : {}), limit: 500 });
      autos.push(...rows.map((r) => r.id));
      if (rows.length < 500) break;
      after = rows[rows.length - 1]!.id;
    }
    await this.store.deleteConnector(org, id);
    this.cache.set(id, null);
    return { automations: autos.slice(0, 100), automations_deleted: autos.length };
  }

  /**
   * Runs the checks and records the connector's health. A read-only caller (a read-only API key, or
   * a --read-only server) gets the checks without the write probe, and nothing is recorded: its
   * call changes neither the bucket nor the connector (a FAILED connector stays FAILED).
   */
  async test(org: string, id: string, opts: { readOnly?: boolean } = {}): Promise<{ result: TestResult; connector: ConnectorView }> {
    const readOnly = this.readOnly || opts.readOnly === true;
    const c = await this.get(org, id);
    refuseArchived(c, 'be tested');
    const scopes = JSON.parse(c.scopes) as string[];
    let checks: Check[];
    try {
      checks = await this.checksFor(await this.pool.get(c), scopes, c.export_base_path, readOnly);
    } catch (e) {
      // Credentials that cannot be resolved (missing env var or file) fail the auth check.
      const err = e instanceof CloudportError ? e : new CloudportError('unexpected', String(e));
      checks = [
        { name: 'auth', status: 'failed', detail: err.message, fix: err.fix, ...(err.field ? { field: err.field } : {}), ...(err.temporary ? { temporary: true } : {}) },
        { name: 'list', status: 'skipped', detail: 'skipped: auth failed' },
        { name: 'read', status: 'skipped', detail: 'skipped: auth failed' },
      ];
    }
    checks = checks.map((x) => (x.detail ? { ...x, detail: redact(x.detail, org) } : x));
    const failed = checks.filter((x) => x.status === 'failed');
    const success = failed.length === 0;
    const message = success
      ? `all checks passed${checks.some((x) => x.status === 'skipped') ? ' (some skipped)' : ''}`
      : `${failed.map((x) => x.name).join(', ')} failed: ${failed[0]!.detail ?? ''}`;
    // Checks that failed only because the service throttled them say nothing of the connector: nothing
    // is recorded, so throttling alone never makes it FAILED. (An endpoint out of reach still counts.)
    const passing = !success && failed.every((x) => x.kind === 'rate_limited');
    const row = readOnly || passing ? c : await this.store.recordHealth(org, id, { ok: success, error: message, failAfter: FAIL_AFTER, now: new Date().toISOString() });
    if (!readOnly && !passing) this.cache.set(id, row);
    return { result: { success, message, checks: checks.map(publicCheck) }, connector: toView(row ?? c) };
  }
}
