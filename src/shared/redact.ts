/**
 * Secret redaction shared by logs, errors and tool results. Every secret value that is resolved
 * (literal, env or file) is registered here, and every string leaving the process through a log
 * line or an error message is scrubbed of them.
 */
const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}

const SECRET_FIELD = /secret|password|session_token|access_key_id$|account_key|private_key|sas_token|sas_url|connection_string|authorization|master_key/i;

/** Deep copy with secret-looking fields and registered secret values replaced. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[…]';
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return redact(value.message);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_FIELD.test(k) && typeof v === 'string' ? '[redacted]' : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}
