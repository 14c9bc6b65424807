import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudport, tempDir, type Running } from './helpers/cloudport.js';

/**
 * tool-schemas/<tool>.json holds every tool definition the server advertises, and the README's
 * tool table is generated from them. Both fail here when they drift; UPDATE_TOOL_SCHEMAS=1 rewrites them.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, 'tool-schemas');
const README = path.join(ROOT, 'README.md');
const START = '<!-- tools:start -->';
const END = '<!-- tools:end -->';
const update = process.env.UPDATE_TOOL_SCHEMAS === '1';

function toolTable(tools: any[]): string {
  const rows = tools.map((t) => {
    const a = t.annotations ?? {};
    const kind = a.readOnlyHint ? 'read-only' : a.destructiveHint ? 'destructive' : 'writes';
    const inputs = Object.keys(t.inputSchema.properties ?? {})
      .map((k) => ((t.inputSchema.required ?? []).includes(k) ? `**${k}**` : k))
      .join(', ');
    return `| \`${t.name}\` | ${t.description.replace(/\|/g, '\\|')} | ${inputs} | ${kind} |`;
  });
  return ['| tool | what it does | inputs (**required**) | kind |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

describe('advertised tool definitions', () => {
  let cp: Running;
  let tools: any[];
  beforeAll(async () => {
    cp = await startCloudport({ dataDir: tempDir() });
    tools = (await cp.client.listTools()).tools;
  });
  afterAll(async () => cp?.close());

  it('match tool-schemas/ (UPDATE_TOOL_SCHEMAS=1 rewrites them)', () => {
    if (update) {
      fs.rmSync(DIR, { recursive: true, force: true });
      fs.mkdirSync(DIR);
      for (const t of tools) fs.writeFileSync(path.join(DIR, `${t.name}.json`), JSON.stringify(t, null, 2) + '\n');
    }
    const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];
    expect(files, 'tool-schemas/ lists exactly the advertised tools').toEqual(tools.map((t) => `${t.name}.json`).sort());
    for (const t of tools) {
      const saved = JSON.parse(fs.readFileSync(path.join(DIR, `${t.name}.json`), 'utf8'));
      expect(saved, `tool-schemas/${t.name}.json is stale: run npm run schemas:update`).toEqual(t);
    }
  });

  it('README tool table is generated from tool-schemas/', () => {
    const saved = fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')));
    const order = new Map(tools.map((t, i) => [t.name, i]));
    saved.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const table = `${START}\n${toolTable(saved)}\n${END}`;
    let readme = fs.readFileSync(README, 'utf8');
    const re = new RegExp(`${START}[\\s\\S]*?${END}`);
    if (update) {
      readme = readme.replace(re, table);
      fs.writeFileSync(README, readme);
    }
    expect(readme.match(re)?.[0], 'README tool table is stale: run npm run schemas:update').toBe(table);
  });

  it('stays small: the whole tools/list within 24 KiB of compact JSON, no tool over 3 KiB, one or two sentences each', () => {
    // Measured: 32,774 bytes before the trim (create_connector 4,426); the budget leaves room for this round's new tools.
    expect(JSON.stringify(tools).length).toBeLessThanOrEqual(24 * 1024);
    for (const t of tools) {
      expect(JSON.stringify(t).length, t.name).toBeLessThanOrEqual(3 * 1024);
      expect(t.description.length, t.name).toBeLessThan(260);
      expect(t.outputSchema?.type).toBe('object');
      // Read-only tools say so; every other tool says whether it destroys anything (the spec's default is "yes").
      if (t.annotations?.readOnlyHint !== true) expect(typeof t.annotations?.destructiveHint, t.name).toBe('boolean');
      expect(typeof t.annotations?.openWorldHint, t.name).toBe('boolean');
    }
  });

  it('advertises no unused or missing definitions, and the error shape fits every output schema', () => {
    for (const t of tools) {
      const text = JSON.stringify(t);
      const refs = new Set([...text.matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)].map((m) => m[1]));
      expect(Object.keys(t.inputSchema.$defs ?? {}).sort(), t.name).toEqual([...refs].sort());
      expect(t.outputSchema.required, t.name).toBeUndefined();
      expect(t.outputSchema.additionalProperties, t.name).toBeUndefined();
    }
  });

  it('advertises secrets as a string or an {env} / {file} reference, and the bucket rule providers share', async () => {
    const create = tools.find((t) => t.name === 'create_connector')!;
    const secret = create.inputSchema.$defs.secret;
    expect(secret.anyOf.map((s: any) => s.type)).toEqual(['string', 'object', 'object']);
    expect(secret.anyOf[1]).toMatchObject({ properties: { env: { type: 'string' } }, required: ['env'] });
    expect(secret.anyOf[2]).toMatchObject({ properties: { file: { type: 'string' } }, required: ['file'] });
    const creds = create.inputSchema.properties.credentials;
    expect(creds.additionalProperties).toEqual({ $ref: '#/$defs/secret' });
    expect(creds.properties.base.additionalProperties).toEqual({ $ref: '#/$defs/secret' });
    for (const field of ['access_key_id', 'secret_access_key', 'session_token', 'external_id', 'json', 'account_key', 'connection_string', 'sas_token', 'sas_url']) {
      expect(creds.properties[field], field).toBeUndefined();
      expect(creds.description, field).toContain(field);
    }
    for (const provider of ['s3', 'gcs', 'azure_blob']) expect(create.description).toContain(provider);

    // Every name a provider accepts matches the advertised rule; names no provider accepts do not.
    const { BUCKET: s3 } = await import('../src/providers/s3/index.js');
    const { BUCKET: gcs } = await import('../src/providers/gcs/index.js');
    const bucket = create.inputSchema.properties.bucket;
    const advertised = new RegExp(bucket.pattern);
    expect(bucket).toMatchObject({ minLength: 3, maxLength: 255 });
    for (const name of ['abc', 'my-bucket', 'My.Bucket_1', 'a'.repeat(255), 'logs.example.com', 'a_b', 'x'.repeat(222)]) {
      const ok = s3.test(name) || gcs.test(name);
      expect(ok && advertised.test(name) && name.length >= bucket.minLength && name.length <= bucket.maxLength, name).toBe(ok);
    }
    for (const name of ['ab', 'a'.repeat(256), '-abc', 'abc-', 's3://x', 'has space']) expect(advertised.test(name), name).toBe(false);
  });
});
