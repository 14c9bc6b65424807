import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, loadMasterKey, resolveAll, resolveSecret, secretRefs } from '../../src/core/connectors/secrets.js';
import { secretFields } from '../../src/providers/fields.js';
import { s3Provider } from '../../src/providers/s3/index.js';
import { gcsProvider } from '../../src/providers/gcs/index.js';
import { SecretHolder, heldSecretCount, redact, scrubError } from '../../src/shared/redact.js';
import { escapeText } from '../../src/shared/text.js';

describe('secrets', () => {
  it('seals with AES-256-GCM bound to the connector id', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('{"secret":"s3cr3t-value"}', 'conn_a');
    expect(sealed).not.toContain('s3cr3t');
    expect(box.open(sealed, 'conn_a')).toBe('{"secret":"s3cr3t-value"}');
    expect(() => box.open(sealed, 'conn_b')).toThrow(/cannot be decrypted/);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'conn_a')).toThrow(/cannot be decrypted/);
    const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => box.open(tampered, 'conn_a')).toThrow();
  });
  it('generates master.key once with mode 0600 and refuses to invent one for existing data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-key-'));
    const a = loadMasterKey(dir, undefined, true);
    expect(a.source).toBe('generated');
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(loadMasterKey(dir, undefined, false).key.equals(a.key)).toBe(true);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-key-'));
    expect(() => loadMasterKey(other, undefined, false)).toThrow(/no master key/);
    expect(() => loadMasterKey(other, 'dG9vc2hvcnQ=', true)).toThrow(/32 random bytes/);
  });
  it('resolves env and file references, naming what is missing', () => {
    expect(resolveSecret({ env: 'X_SECRET' }, 'credentials.k', { X_SECRET: 'value-from-env-123' })).toBe('value-from-env-123');
    expect(() => resolveSecret({ env: 'NOPE' }, 'credentials.k', {})).toThrow(/NOPE is not set/);
    expect(() => resolveSecret({ file: '/no/such/file' }, 'credentials.k', {})).toThrow(/\/no\/such\/file cannot be read/);
    expect(secretRefs({ type: 'x', a: 'lit', b: { env: 'E' }, c: { file: '/f' } })).toEqual([
      { field: 'credentials.b', env: 'E' },
      { field: 'credentials.c', file: '/f' },
    ]);
  });
  it('holds resolved secrets for their organization only, while held, and never non-secret fields', () => {
    const before = heldSecretCount();
    const found: string[] = [];
    const creds = resolveAll(
      { type: 'assume_role', role_arn: 'arn:aws:iam::123456789012:role/reader', external_id: { env: 'EXT_ID' }, base: { access_key_id: 'AKIAEXAMPLEBASE00001', secret_access_key: 'base-secret-value-99' } },
      { EXT_ID: 'external-id-from-env' },
      undefined,
      secretFields(s3Provider.credentialSchemas),
      found,
    );
    expect(creds.external_id).toBe('external-id-from-env');
    expect(found.sort()).toEqual(['AKIAEXAMPLEBASE00001', 'base-secret-value-99', 'external-id-from-env']);
    const a = new SecretHolder('org_a');
    a.hold(...found);
    // Org A's secrets are scrubbed from A's output and from process logs, never from org B's output.
    expect(redact('x base-secret-value-99 y', 'org_a')).toBe('x [redacted] y');
    expect(redact('x base-secret-value-99 y')).toBe('x [redacted] y');
    expect(redact('x base-secret-value-99 y', 'org_b')).toBe('x base-secret-value-99 y');
    expect(redact('arn:aws:iam::123456789012:role/reader', 'org_a')).toBe('arn:aws:iam::123456789012:role/reader');
    // A second holder of the same value (another provider) keeps it held after the first lets go.
    const again = new SecretHolder('org_a');
    again.hold('base-secret-value-99');
    a.release();
    expect(redact('base-secret-value-99', 'org_a')).toBe('[redacted]');
    expect(redact('external-id-from-env', 'org_a')).toBe('external-id-from-env');
    again.release();
    expect(heldSecretCount()).toBe(before);
    // An error leaving a call is scrubbed while the call's secrets are still held, then they are released.
    const call = new SecretHolder('org_a');
    call.hold('call-secret-value-7');
    const err = scrubError(new Error('bad key call-secret-value-7 given'), 'org_a');
    call.release();
    expect(err.message).toBe('bad key [redacted] given');
    expect(heldSecretCount()).toBe(before);
  });
  it('bounds secrets: 4 KiB a field (64 KiB for a key file), references included', () => {
    const fields = secretFields(s3Provider.credentialSchemas);
    expect(fields.get('secret_access_key')).toBe(4096);
    expect(fields.get('base.secret_access_key')).toBe(4096);
    expect(fields.has('role_arn')).toBe(false);
    expect(secretFields(gcsProvider.credentialSchemas).get('json')).toBe(65536);
    const big = 'x'.repeat(4097);
    expect(() => resolveAll({ type: 'access_key', access_key_id: 'AKIA0000000000000000', secret_access_key: { env: 'BIG' } }, { BIG: big }, undefined, fields)).toThrow(
      /credentials.secret_access_key: the secret is 4097 characters; at most 4096/,
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cp-big-')), 'huge');
    fs.writeFileSync(file, Buffer.alloc(300 * 1024, 'a'));
    expect(() => resolveSecret({ file }, 'credentials.json', {}, undefined, 65536)).toThrow(/more than a secret or key file/);
    // With the field at fault and a way out, as every refused reference.
    expect(() => resolveSecret({ file }, 'credentials.json', {}, undefined, 65536)).toThrow(expect.objectContaining({ field: 'credentials.json', fix: expect.stringContaining('file that holds just the secret') }));
  });
  it('refuses an {env} name that is no variable name, or looks like a key, without repeating it', () => {
    for (const name of ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY', 'wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1', '1ABC', 'A B']) {
      let err: unknown;
      try {
        resolveSecret({ env: name }, 'credentials.k', { [name]: 'v' });
      } catch (e) {
        err = e;
      }
      expect(err, name).toMatchObject({ kind: 'config_invalid', field: 'credentials.k' });
      expect(JSON.stringify(err) + String((err as Error).message) + String((err as { fix?: string }).fix), name).not.toContain(name);
    }
    // Names as shells and MCP clients write them, mixed case and all.
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'my_secret', '_X', 'AKIAIOSFODNN7EXAMPLE']) expect(resolveSecret({ env: name }, 'credentials.k', { [name]: 'v' })).toBe('v');
  });
  it('reads a {file} reference only when it is a regular file, without waiting on a pipe', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-ref-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened for reading without O_NONBLOCK, a FIFO with no writer would block this thread here for good.
    expect(() => resolveSecret({ file: fifo }, 'credentials.k', {})).toThrow(/credentials.k: .*fifo is not a regular file/);
    expect(() => resolveSecret({ file: '/dev/zero' }, 'credentials.k', {})).toThrow(/is not a regular file/);
    expect(() => resolveSecret({ file: dir }, 'credentials.k', {})).toThrow(/is not a regular file/);
    fs.writeFileSync(path.join(dir, 'key'), 'from-a-file\n');
    expect(resolveSecret({ file: path.join(dir, 'key') }, 'credentials.k', {})).toBe('from-a-file');
  });
  it('escapes control and bidi characters for one-line summaries', () => {
    expect(escapeText('a\nb\tc\u001b[31m\u202ed\u0000')).toBe('a\\x0ab\\x09c\\x1b[31m\\u202ed\\x00');
    expect(escapeText('café ünïcode ok')).toBe('café ünïcode ok');
  });
});
