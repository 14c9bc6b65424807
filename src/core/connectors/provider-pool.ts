import { getProvider, type StorageProvider } from '../../providers/index.js';
import { secretFields } from '../../providers/fields.js';
import { SecretHolder, scrubError } from '../../shared/redact.js';
import type { ConnectorRow } from '../../store/types.js';
import type { SecretBox } from './secrets.js';
import { resolveAll } from './secrets.js';
import type { LocationConfig } from '../../providers/types.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../providers/idle-agents.js';
import type { SecurityPolicy } from './endpoint-policy.js';

/**
 * Opens providers for stored connectors. Secret references are resolved when a provider is opened;
 * an opened provider is reused for a short while (keyed by the connector's updated_at, so any
 * update opens a fresh one) and then closed, so a rotated key file is picked up within minutes.
 */
export class ProviderPool {
  private readonly open = new Map<string, { provider: StorageProvider; version: string; expires: number; secrets: SecretHolder }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly box: SecretBox,
    private readonly env: NodeJS.ProcessEnv,
    private readonly policy: SecurityPolicy,
    private readonly maxSockets: number,
    private readonly ttlMs = 5 * 60_000,
    private readonly idleTimeoutMs?: number,
  ) {
    this.timer = setInterval(() => this.sweep(), 30_000);
    this.timer.unref();
  }

  /**
   * Opens a provider from decrypted, resolved credentials without caching (validation before save).
   * `secrets` holds the resolved secrets (and any the provider obtains later) for redaction; its owner releases it.
   * Endpoints that referenced credentials carry (a connection string in an env variable) are added to
   * `loc` (as they are now), so a connector validated before its save shows them as literal ones do.
   */
  async openFresh(provider: string, loc: LocationConfig, credentials: Record<string, unknown>, secrets: SecretHolder): Promise<StorageProvider> {
    const def = getProvider(provider);
    // The policy may be stricter than when the connector was saved: check again at each open.
    this.policy.checkLocation(loc);
    if (def.usesAmbientIdentity?.(credentials)) this.policy.checkAmbient('credentials.type');
    const found: string[] = [];
    const resolved = resolveAll(credentials, this.env, this.policy, secretFields(def.credentialSchemas), found);
    secrets.hold(...found);
    // Endpoints inside credentials (read from a file or env var) are checked once resolved: by the
    // policy, and against the location's own (one of the two would be ignored).
    const embedded = def.credentialEndpoints?.(resolved) ?? {};
    this.policy.checkLocation(embedded);
    Object.assign(loc, embedded);
    def.checkLocationWith?.(loc, resolved);
    return def.open(loc, resolved, {
      maxSockets: this.maxSockets,
      connectTimeoutMs: 10_000,
      holdSecrets: secrets.hold,
      ...(this.idleTimeoutMs ? { idleTimeoutMs: this.idleTimeoutMs } : {}),
      ...(this.policy.options.privateEndpoints ? {} : { lookup: this.policy.lookup, agents: (this.agents ??= this.policy.agents(this.maxSockets, this.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)) }),
    });
  }

  async get(c: ConnectorRow): Promise<StorageProvider> {
    const hit = this.open.get(c.id);
    if (hit && hit.version === c.updated_at && hit.expires > Date.now()) return hit.provider;
    // Concurrent callers share one opening.
    const pending = this.opening.get(c.id);
    if (pending && pending.version === c.updated_at) return pending.promise;
    if (hit) this.retire(c.id);
    const creds = JSON.parse(this.box.open(c.credentials_enc, c.id)) as Record<string, unknown>;
    // The connector's secrets stay redacted in its organization's output while the provider is open.
    const secrets = new SecretHolder(c.org_id);
    const promise = this.openFresh(c.provider, JSON.parse(c.config) as LocationConfig, creds, secrets).then(
      (provider) => {
        this.opening.delete(c.id);
        this.open.set(c.id, { provider, version: c.updated_at, expires: Date.now() + this.ttlMs, secrets });
        return provider;
      },
      (e) => {
        this.opening.delete(c.id);
        // Scrubbed while its secrets are still held: released, they would no longer be recognized.
        scrubError(e, c.org_id);
        secrets.release();
        throw e;
      },
    );
    this.opening.set(c.id, { version: c.updated_at, promise });
    return promise;
  }

  /** Guarded agents shared by all providers of this process (only under a strict endpoint policy). */
  private agents: { http: import('node:http').Agent; https: import('node:https').Agent } | undefined;

  private readonly opening = new Map<string, { version: string; promise: Promise<StorageProvider> }>();

  private retire(id: string) {
    const hit = this.open.get(id);
    this.open.delete(id);
    // Let in-flight requests finish before closing sockets.
    if (hit)
      setTimeout(() => {
        hit.provider.close();
        hit.secrets.release();
      }, 60_000).unref();
  }

  private sweep() {
    const now = Date.now();
    for (const [id, hit] of this.open) if (hit.expires <= now) this.retire(id);
  }

  close() {
    clearInterval(this.timer);
    for (const hit of this.open.values()) {
      hit.provider.close();
      hit.secrets.release();
    }
    this.open.clear();
  }
}
