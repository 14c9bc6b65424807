#!/usr/bin/env node
// Checks the import graph of src/: no cycles, and arrows only downward through the layers
// (entry -> MCP layer -> tools -> core -> providers / store -> shared). Type-only imports count too:
// a layer that names another's types depends on it. Exits 1 and lists every violation.
// Usage: node scripts/check-imports.mjs [src]
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const root = resolve(process.argv[2] ?? 'src');

/** Layers from the bottom up; a file may import its own layer or lower ones. */
const LAYERS = [
  ['shared', (f) => f.startsWith('shared/')],
  ['providers, store', (f) => f.startsWith('providers/') || f.startsWith('store/')],
  ['core', (f) => f.startsWith('core/')],
  ['tools', (f) => f.startsWith('tools/')],
  ['MCP layer', (f) => f === 'server.ts' || f === 'http.ts' || f === 'requests.ts' || f === 'resources.ts' || f === 'views.ts'],
  ['entry', (f) => f === 'cli.ts' || f === 'config.ts'],
];
const PROVIDERS_STORE = 1;
const TOOLS = 3;
const layerOf = (file) => {
  const rel = relative(root, file).split(sep).join('/');
  const i = LAYERS.findIndex(([, test]) => test(rel));
  if (i < 0) throw new Error(`${rel}: in no layer (add it to LAYERS in scripts/check-imports.mjs)`);
  return i;
};

const files = [];
(function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.ts$/.test(n) && !/\.d\.ts$/.test(n)) files.push(p);
  }
})(root);

const target = (from, spec) => {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const c of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
};

const graph = new Map();
const problems = [];
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const t = target(f, m[2] ?? m[3]);
    if (!t) continue;
    if (layerOf(t) > layerOf(f)) problems.push(`upward: ${relative(root, f)} (${LAYERS[layerOf(f)][0]}) imports ${relative(root, t)} (${LAYERS[layerOf(t)][0]})`);
    // Above the core, providers and the store are reached through the core (it names provider kinds and job states).
    if (layerOf(f) >= TOOLS && layerOf(t) === PROVIDERS_STORE) problems.push(`past the core: ${relative(root, f)} imports ${relative(root, t)}`);
    // Type-only imports vanish at run time: they cannot make a load-order cycle.
    if (!m[1]) deps.add(t);
  }
  graph.set(f, deps);
}

// Cycles: depth-first search with a stack.
const state = new Map();
const stack = [];
const visit = (f) => {
  state.set(f, 'open');
  stack.push(f);
  for (const d of graph.get(f) ?? []) {
    if (state.get(d) === 'open') problems.push(`cycle: ${stack.slice(stack.indexOf(d)).concat(d).map((x) => relative(root, x)).join(' -> ')}`);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 'done');
};
for (const f of files) if (!state.has(f)) visit(f);

if (problems.length) {
  process.stderr.write(problems.join('\n') + '\n');
  process.exit(1);
}
process.stdout.write(`imports: ${files.length} files, no cycle, no upward import\n`);
