import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, SECRET, KEY_ID, type S3Env } from '../helpers/s3env.js';

/**
 * A credential value that cannot go into an HTTP header (a session_token pasted with a line break) is
 * the caller's mistake: create_connector answers config_invalid on that credentials field, with a fix,
 * not `unexpected: … storage request failed: InvalidArgumentError` on `credentials` as a whole; and the
 * value is not repeated.
 */

let env: S3Env;
let cp: Running;

beforeAll(async () => {
  env = await startS3Env(['tok-bucket']);
  await env.s3.put('tok-bucket', 'a.txt', 'a');
  cp = await startCloudport({ dataDir: path.join(tempDir(), 'data') });
}, 60_000);
afterAll(async () => {
  await cp?.close();
  await env?.stop();
});

describe('session_token with a line break', () => {
  it('is config_invalid on credentials.session_token', async () => {
    const token = 'FwoGZXIvYXdzEBYaDH\nq9xPZtokenPart2';
    const r = await cp.call('create_connector', { ...env.connector('tok-bucket'), credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: SECRET, session_token: token } });
    expect(r.isError).toBe(true);
    expect(r.data.error.kind).toBe('config_invalid');
    expect(r.data.error.field).toBe('credentials.session_token');
    expect(r.data.error.fix).toBeTruthy();
    expect(r.text).not.toContain('q9xPZtokenPart2');
  });
});
