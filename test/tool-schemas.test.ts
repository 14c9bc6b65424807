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

  it('stays small: the whole tools/list under 32 KiB of JSON (31,632 bytes measured with the export and automation tools), one or two sentences each', () => {
    expect(JSON.stringify(tools).length).toBeLessThan(32 * 1024);
    for (const t of tools) {
      expect(t.description.length, t.name).toBeLessThan(260);
      expect(t.outputSchema?.type).toBe('object');
      expect(t.annotations).toMatchObject({ readOnlyHint: expect.any(Boolean), destructiveHint: expect.any(Boolean), idempotentHint: expect.any(Boolean) });
    }
  });
});
