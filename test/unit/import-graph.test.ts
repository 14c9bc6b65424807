import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('import graph of src/', () => {
  it('has no cycle, no upward import, and nothing above the core reaching providers or the store (scripts/check-imports.mjs)', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts/check-imports.mjs'), path.join(ROOT, 'src')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/no cycle, no upward import/);
  });

  it('reports a cycle and an upward import when there is one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-graph-'));
    for (const d of ['shared', 'core', 'tools']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'core/a.ts'), "import { b } from './b.js';\nimport { t } from '../tools/t.js';\nexport const a = 1;\n");
    fs.writeFileSync(path.join(dir, 'core/b.ts'), "import { a } from './a.js';\nexport const b = a;\n");
    fs.writeFileSync(path.join(dir, 'tools/t.ts'), 'export const t = 1;\n');
    let stderr = '';
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/check-imports.mjs'), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(stderr).toMatch(/cycle: core\/a\.ts -> core\/b\.ts -> core\/a\.ts/);
    expect(stderr).toMatch(/upward: core\/a\.ts \(core\) imports tools\/t\.ts \(tools\)/);
  });
});
