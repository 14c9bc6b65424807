import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, loadMasterKey, resolveSecret, secretRefs } from '../../src/core/secrets.js';
import { redact } from '../../src/shared/redact.js';
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
  it('resolves env and file references, naming what is missing, and registers values for redaction', () => {
    expect(resolveSecret({ env: 'X_SECRET' }, 'credentials.k', { X_SECRET: 'value-from-env-123' })).toBe('value-from-env-123');
    expect(redact('oops value-from-env-123 leaked')).toBe('oops [redacted] leaked');
    expect(() => resolveSecret({ env: 'NOPE' }, 'credentials.k', {})).toThrow(/NOPE is not set/);
    expect(() => resolveSecret({ file: '/no/such/file' }, 'credentials.k', {})).toThrow(/\/no\/such\/file cannot be read/);
    expect(secretRefs({ type: 'x', a: 'lit', b: { env: 'E' }, c: { file: '/f' } })).toEqual([
      { field: 'credentials.b', env: 'E' },
      { field: 'credentials.c', file: '/f' },
    ]);
  });
  it('escapes control and bidi characters for one-line summaries', () => {
    expect(escapeText('a\nb\tc\u001b[31m\u202ed\u0000')).toBe('a\\x0ab\\x09c\\x1b[31m\\u202ed\\x00');
    expect(escapeText('café ünïcode ok')).toBe('café ünïcode ok');
  });
});
