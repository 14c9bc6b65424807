/**
 * Secret redaction shared by logs, errors and tool results.
 *
 * Secrets belong to an owner: an organization (a tenant's connector credentials) or the operator
 * (the blob store's keys, given in the environment). Output made for an organization (a tool
 * result, a job log, a connector's last error) is scrubbed of that organization's secrets and the
 * operator's, never of another tenant's: one tenant cannot make another's output read
 * "[redacted]", and the scan costs the same however many tenants there are. Process log lines,
 * which belong to no organization, are scrubbed of every secret held.
 *
 * Lifetimes are bounded: a tenant's secrets are held while a provider that uses them is open (or
 * while a validating call runs), and released with it.
 */
/** Secrets held for organizations: organization -> value -> holders. */
const held = new Map<string, Map<string, number>>();
/** The operator's own secrets (the blob store's keys): a handful per process, kept for its life. */
const operator = new Set<string>();
const MIN_SECRET_LENGTH = 6;

const worthHiding = (v: string | undefined): v is string => !!v && v.length >= MIN_SECRET_LENGTH;

/** Registers one of the operator's secrets (never a tenant's: those are held with holdSecrets). */
export function registerSecret(value: string | undefined): void {
  if (worthHiding(value)) operator.add(value);
}

/** Holds secrets for `org` until the returned release runs (a provider's or a call's lifetime). */
export function holdSecrets(org: string, values: string[]): () => void {
  const kept = values.filter(worthHiding);
  if (!kept.length) return () => undefined;
  let mine = held.get(org);
  if (!mine) held.set(org, (mine = new Map()));
  for (const v of kept) mine.set(v, (mine.get(v) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const m = held.get(org);
    if (!m) return;
    for (const v of kept) {
      const n = (m.get(v) ?? 1) - 1;
      if (n > 0) m.set(v, n);
      else m.delete(v);
    }
    if (!m.size) held.delete(org);
  };
}

/** The secrets one user (an open provider, a validating call) holds for an organization, released together. */
export class SecretHolder {
  private readonly releases: (() => void)[] = [];
  constructor(readonly org: string) {}
  readonly hold = (...values: (string | undefined)[]): void => {
    this.releases.push(holdSecrets(this.org, values.filter((v): v is string => typeof v === 'string')));
  };
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

function scrub(text: string, values: Iterable<string> | undefined): string {
  if (!values) return text;
  let out = text;
  for (const s of values) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

/** Scrubs `text` for output made for `org`; without an organization (process logs), of every secret held. */
export function redact(text: string, org?: string): string {
  let out = scrub(text, operator);
  if (org !== undefined) return scrub(out, held.get(org)?.keys());
  for (const m of held.values()) out = scrub(out, m.keys());
  return out;
}

/**
 * Scrubs an error's message for `org` in place and returns it: for errors that leave a scope whose
 * secrets are released right after (a failed provider opening, a validating call).
 */
export function scrubError<E>(e: E, org: string): E {
  if (e instanceof Error) e.message = redact(e.message, org);
  return e;
}

/** How many secret values are held in all (operator's and organizations'). */
export function heldSecretCount(): number {
  let n = operator.size;
  for (const m of held.values()) n += m.size;
  return n;
}

const SECRET_FIELD = /secret|password|session_token|access_key_id$|account_key|private_key|sas_token|sas_url|connection_string|authorization|master_key/i;
/** Deeper structures are summarized: redaction never recurses without bound. */
const MAX_DEPTH = 6;

/** Deep copy with secret-looking fields and registered secret values replaced. */
export function redactValue(value: unknown, org?: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[…]';
  if (typeof value === 'string') return redact(value, org);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, org, depth + 1));
  if (value instanceof Error) return redact(value.message, org);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_FIELD.test(k) && typeof v === 'string' ? '[redacted]' : redactValue(v, org, depth + 1);
    }
    return out;
  }
  return value;
}
