import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CloudportError } from '../../shared/errors.js';

/**
 * Credentials at rest: AES-256-GCM, the connector id bound as associated data (a row copied onto
 * another connector does not decrypt), and a key version stored with each row for rotation.
 */
export const KEY_VERSION = 1;
const KEY_CHECK_PLAINTEXT = 'cloudport-key-check';
const KEY_CHECK_AAD = 'key-check';
export const KEY_CHECK_META = 'master_key_check';

export class SecretBox {
  constructor(
    private readonly key: Buffer,
    readonly version = KEY_VERSION,
  ) {}

  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
  }

  open(sealed: string, aad: string): string {
    const [v, iv, tag, ct] = sealed.split(':');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new CloudportError('unexpected', 'stored credentials are in an unknown format');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8');
    } catch {
      throw new CloudportError('unexpected', 'stored credentials cannot be decrypted with the current master key', {
        fix: 'Start cloudport with the CLOUDPORT_MASTER_KEY (or master.key) that encrypted this data dir.',
      });
    }
  }

  keyCheck(): string {
    return this.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD);
  }

  verifyKeyCheck(sealed: string): boolean {
    try {
      return this.open(sealed, KEY_CHECK_AAD) === KEY_CHECK_PLAINTEXT;
    } catch {
      return false;
    }
  }
}

function decodeKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) {
    throw new CloudportError('config_invalid', `${source} must be 32 random bytes, base64-encoded (got ${key.length} bytes)`, {
      field: source,
      fix: 'Generate one with: openssl rand -base64 32',
    });
  }
  return key;
}

/**
 * The master key: CLOUDPORT_MASTER_KEY, else <data-dir>/master.key, else a new key written there
 * with mode 0600 — but only while the store holds nothing encrypted (`mayGenerate`).
 */
export function loadMasterKey(dataDir: string, envValue: string | undefined, mayGenerate: boolean, store = 'this data dir'): { key: Buffer; source: 'env' | 'file' | 'generated' } {
  if (envValue) return { key: decodeKey(envValue, 'CLOUDPORT_MASTER_KEY'), source: 'env' };
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) return { key: decodeKey(fs.readFileSync(file, 'utf8'), file), source: 'file' };
  if (!mayGenerate) {
    throw new CloudportError('config_invalid', `no master key: ${file} is missing and CLOUDPORT_MASTER_KEY is not set, but ${store} holds encrypted credentials`, {
      field: 'CLOUDPORT_MASTER_KEY',
      fix: `Restore master.key or set CLOUDPORT_MASTER_KEY to the key that encrypted ${store}.`,
    });
  }
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, source: 'generated' };
}

/** A secret given literally, or as a reference resolved at each use so it never passes through chat. */
export type SecretInput = string | { env: string } | { file: string };

export interface SecretRef {
  field: string;
  env?: string;
  file?: string;
}

/** The checks a reference must pass before it is read (see core/policy.ts). */
export interface RefPolicy {
  checkEnvRef(name: string, field: string): void;
  checkFileRef(file: string, field: string): void;
}

/** Characters a secret may hold once resolved, unless its field says otherwise (a key file holds more). */
const DEFAULT_SECRET_MAX = 4096;
const MAX_SECRET_FILE_BYTES = 256 * 1024;

export function resolveSecret(value: SecretInput, field: string, env: NodeJS.ProcessEnv, policy?: RefPolicy, maxChars = DEFAULT_SECRET_MAX): string {
  const v = readSecret(value, field, env, policy);
  // References are bounded too: a large file or variable would otherwise be held and scanned for every output.
  if (v.length > maxChars) {
    throw new CloudportError('config_invalid', `${field}: the secret is ${v.length} characters; at most ${maxChars} are accepted`, {
      field,
      fix: 'Give the secret itself (an access key, token or key file), not a larger document.',
    });
  }
  return v;
}

/** An environment variable's name as shells, .env files and MCP clients' "env" settings write it. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Refuses an {env} reference whose name cannot be a variable's, or that looks like a key (20 or more
 * characters mixing upper case, lower case and digits, with no underscore): most likely the secret itself,
 * pasted where the name goes. The name is not repeated, since it may be that secret; accepted, it would
 * be quoted by later errors and kept in plain text among the connector's references.
 */
export function checkEnvName(name: string, field: string): void {
  const keyLike = name.length >= 20 && !name.includes('_') && /[a-z]/.test(name) && /[A-Z]/.test(name) && /[0-9]/.test(name);
  if (ENV_NAME.test(name) && !keyLike) return;
  throw new CloudportError('config_invalid', `${field}: {"env": …} takes the name of an environment variable (letters, digits and _, not starting with a digit); the value given ${keyLike ? 'looks like a key rather than a name' : 'is not one'}, and is not repeated here in case it is the secret itself`, {
    field,
    fix: 'Give the secret itself as a string, or {"env": "NAME"} naming a variable set where cloudport runs (e.g. {"env": "AWS_SECRET_ACCESS_KEY"}).',
  });
}

/**
 * Opens a {file} reference without blocking on it (O_NONBLOCK: a FIFO would wait for a writer) and
 * reads it only when it is a regular file of at most MAX_SECRET_FILE_BYTES: a pipe, device or
 * /dev/stdin would stall the server's event loop, or read without end.
 */
function readSecretFile(file: string, field: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new CloudportError('config_invalid', `${field}: ${file} is not a regular file (a pipe, device, socket or directory)`, {
        field,
        fix: 'Point the reference at a regular file holding the secret, e.g. {"file": "/run/secrets/key"}.',
      });
    }
    // A file far larger than any key file is refused before it is read into memory.
    if (st.size > MAX_SECRET_FILE_BYTES) {
      throw new CloudportError('config_invalid', `${field}: file ${file} holds ${st.size} bytes, more than a secret or key file (${MAX_SECRET_FILE_BYTES} at most)`, {
        field,
        fix: 'Point the reference at the file that holds just the secret or key (a service-account JSON, a PEM key, an access key), not at a larger file.',
      });
    }
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function readSecret(value: SecretInput, field: string, env: NodeJS.ProcessEnv, policy?: RefPolicy): string {
  if (typeof value === 'string') return value;
  if ('env' in value) {
    checkEnvName(value.env, field);
    policy?.checkEnvRef(value.env, field);
  } else policy?.checkFileRef(value.file, field);
  if ('env' in value) {
    const v = env[value.env];
    if (v === undefined || v === '') {
      throw new CloudportError('config_invalid', `${field}: environment variable ${value.env} is not set in the cloudport server's environment`, {
        field,
        fix: `Set ${value.env} where cloudport runs (e.g. in the MCP client's "env" settings) and restart it, or give another reference.`,
      });
    }
    return v;
  }
  let text: string;
  try {
    text = readSecretFile(value.file, field);
  } catch (e) {
    if (e instanceof CloudportError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new CloudportError('config_invalid', `${field}: file ${value.file} cannot be read (${code})`, {
      field,
      fix: 'Give an absolute path to a file readable by the cloudport server process.',
    });
  }
  const v = text.replace(/\r?\n$/, '');
  if (!v) throw new CloudportError('config_invalid', `${field}: file ${value.file} is empty`, { field });
  return v;
}

const isRef = (v: unknown): v is { env: string } | { file: string } => !!v && typeof v === 'object' && ('env' in v || 'file' in v);

/** The env/file names used by a credentials object, nested ones included (never the values). */
export function secretRefs(creds: Record<string, unknown>, prefix = 'credentials'): SecretRef[] {
  const refs: SecretRef[] = [];
  for (const [k, v] of Object.entries(creds)) {
    if (isRef(v)) refs.push({ field: `${prefix}.${k}`, ...('env' in v ? { env: String(v.env) } : { file: String(v.file) }) });
    else if (v && typeof v === 'object') refs.push(...secretRefs(v as Record<string, unknown>, `${prefix}.${k}`));
  }
  return refs;
}

/**
 * Resolves the secrets (literal or reference) in a credentials object, nested ones (e.g. base
 * credentials) included. `secretFields` names the secret fields and their limits (from the provider's
 * schemas); other strings (role_arn, profile) pass through unregistered. Every resolved secret value
 * is appended to `found` so its holder can keep it for redaction while it is used.
 */
export function resolveAll(
  creds: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  policy: RefPolicy | undefined,
  secretFields: ReadonlyMap<string, number>,
  found: string[] = [],
  prefix = '',
): { type: string } & Record<string, any> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(creds)) {
    if (v === undefined || v === null) continue;
    const path = prefix + k;
    const limit = secretFields.get(path);
    if (k === 'type' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (limit !== undefined || isRef(v)) {
      const value = resolveSecret(v as SecretInput, `credentials.${path}`, env, policy, limit ?? DEFAULT_SECRET_MAX);
      found.push(value);
      out[k] = value;
    } else if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'object') out[k] = resolveAll(v as Record<string, unknown>, env, policy, secretFields, found, `${path}.`);
  }
  return out as { type: string } & Record<string, any>;
}
