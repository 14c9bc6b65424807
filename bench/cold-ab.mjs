// Interleaved A/B of the stdio cold start (spawn → initialize → tools/list) of two builds:
//   node bench/cold-ab.mjs ROUNDS a/dist/cli.js b/dist/cli.js
// Each round spawns every build once (the order alternates), each with a fresh data dir; medians are printed.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const [rounds, ...clis] = process.argv.slice(2);
const times = new Map(clis.map((c) => [c, []]));
for (let r = 0; r < Number(rounds); r++) {
  for (const cli of r % 2 ? [...clis].reverse() : clis) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cold-'));
    const t0 = performance.now();
    const c = new Client({ name: 'ab', version: '1' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--data-dir', dir], env: { PATH: process.env.PATH, HOME: dir }, stderr: 'ignore' }));
    await c.listTools();
    times.get(cli).push(performance.now() - t0);
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [cli, xs] of times) console.log(cli, 'median ms', med(xs).toFixed(1));
