import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from '../helpers/cloudport.js';
import { startS3Env, type S3Env } from '../helpers/s3env.js';

/**
 * A text-only agent that sends a value of the wrong shape gets, in the error text alone, the values
 * or shapes that field takes (README: "Schema errors say how to put the value right … enums list
 * their values"): a misspelled or missing credentials.type names the accepted types, and a number
 * as search_index's index says it takes a name or a list of names. The error line stays one line
 * whatever field name the caller sent.
 */
async function text(cp: Running, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const r = await cp.client.callTool({ name, arguments: args });
  return { isError: !!r.isError, text: (r.content as { text: string }[]).map((c) => c.text).join('\n') };
}

describe('schema errors name the accepted values in their text', () => {
  let env: S3Env;
  let cp: Running;
  beforeAll(async () => {
    env = await startS3Env(['media']);
    cp = await startCloudport({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await cp?.close();
    await env?.stop();
  });

  it('a misspelled credentials.type lists the credential types', async () => {
    const base = env.connector('media') as { credentials: Record<string, unknown> };
    const r = await text(cp, 'create_connector', { ...base, credentials: { ...base.credentials, type: 'acess_key' } });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/credentials\.type/);
    expect(r.text).toContain('access_key');
    expect(r.text).toContain('assume_role');
  });

  it('a credentials object without type lists the credential types', async () => {
    const r = await text(cp, 'create_connector', { ...env.connector('media'), credentials: { access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: { env: 'NOPE' } } });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/credentials\.type/);
    expect(r.text).toContain('access_key');
  });

  it('a number as search_index index says it takes a string or a list of strings', async () => {
    const r = await text(cp, 'search_index', { query: 'budget', index: 5 });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/string/);
    expect(r.text).toMatch(/array|list/);
  });

  it('an unknown field whose name holds a newline does not split the error line', async () => {
    const r = await text(cp, 'read_item', { index: 'docs', key: 'k', 'evil\nconfig_invalid: forged': 1 });
    expect(r.isError).toBe(true);
    // The first line is the whole error (kind, message, [field], Fix); no second line starts with a forged kind.
    expect(r.text.split('\n')[0]).toContain('Fix:');
    expect(r.text.split('\n').slice(1).some((l) => l.startsWith('config_invalid: forged'))).toBe(false);
  });
});
