// Interleaved A/B of cloudport builds on one scenario, for changes smaller than this machine's drift.
//
//   node bench/ab.mjs small|large ROUNDS path/to/a/dist/cli.js path/to/b/dist/cli.js [...]
//   node bench/ab.mjs --database-url postgres://postgres@127.0.0.1:5432/test small ROUNDS a.js b.js
//   node bench/ab.mjs --latency small ROUNDS a.js b.js
//
// With --database-url every import runs on PostgreSQL (a fresh schema each, dropped after), and the CPU
// of the postgres backends serving the server's connections (found by their client ports, bench/proc-cpu.mjs) is added.
// With --latency the servers reach S3 through scenario 10's proxy (GET and HEAD held 20 ms, listing pages 30 ms).
// One loopback S3 server (fauxqs, in this process) is seeded once (2,000 × 64 KiB, or 4 × 256 MiB);
// then every round imports it once with each build, in turn (the order reversed every other round), each
// into a fresh data dir, driven
// through the MCP SDK client over stdio as an agent would. Per import it prints the wall time, the
// server's CPU time (user, system) and minor page faults during the import (from /proc), and the
// server's peak RSS; at the end the medians per build. Downloads stay on disk until the end (see
// settle() in run.mjs for why), and `sync` runs before every import.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { startS3 } from '../test/support/fauxqs.mjs';
import { startProxy } from '../test/support/s3-proxy.mjs';
import { backendCpu } from './proc-cpu.mjs';

const argv = process.argv.slice(2);
const dbAt = argv.indexOf('--database-url');
const DATABASE_URL = dbAt >= 0 ? argv.splice(dbAt, 2)[1] : null;
const latAt = argv.indexOf('--latency');
const LATENCY = latAt >= 0 && argv.splice(latAt, 1).length > 0;
const [scenario, roundsArg, ...clis] = argv;
if (!['small', 'large'].includes(scenario) || !Number(roundsArg) || !clis.length) {
  process.stderr.write('usage: node bench/ab.mjs small|large ROUNDS cliA.js [cliB.js ...]\n');
  process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-ab-'));
const s3 = await startS3({ buckets: ['ab-bench'] });
const proxy = LATENCY ? await startProxy({ upstream: s3.endpoint, delays: { GetObject: 20, HeadObject: 20, ListObjects: 30 } }) : null;
const endpoint = proxy?.endpoint ?? s3.endpoint;
if (scenario === 'small') {
  const client = s3.client();
  const puts = [];
  for (let i = 0; i < 2000; i++) {
    const body = Buffer.alloc(64 * 1024);
    body.writeUInt32LE(i, 0);
    puts.push(client.send(new PutObjectCommand({ Bucket: 'ab-bench', Key: `s/${String(i).padStart(5, '0')}.bin`, Body: body })));
    if (puts.length >= 64) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
} else {
  for (let i = 0; i < 4; i++) {
    const body = Buffer.alloc(256 * 1024 * 1024, i + 1);
    body.writeUInt32LE(i, 0);
    await s3.put('ab-bench', `s/${i}.bin`, body);
  }
}

/** utime, stime (ms) and minor faults of a process, from /proc/PID/stat. */
function stat(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10, faults: Number(f[7]) };
}
const peakMb = (pid) => Math.round(Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const admin = DATABASE_URL ? new pg.Client({ connectionString: DATABASE_URL }) : null;
await admin?.connect();
const results = new Map(clis.map((c) => [c, []]));
for (let r = 0; r < Number(roundsArg); r++) {
  // The order turns every round: the first import of a round ran faster than the second in both orders tried.
  for (const cli of r % 2 ? [...clis].reverse() : clis) {
    execFileSync('sync');
    const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
    let schema = null;
    const dbArgs = [];
    if (DATABASE_URL) {
      schema = `ab_${process.pid}_${r}_${Math.random().toString(36).slice(2, 8)}`;
      const u = new URL(DATABASE_URL);
      u.searchParams.set('schema', schema);
      dbArgs.push('--database-url', u.toString());
    }
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli, '--data-dir', dataDir, '--log-level', 'error', ...dbArgs],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true', ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CLOUDPORT_'))) },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'ab', version: '1' });
    await client.connect(transport);
    const call = async (name, args) => {
      const out = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
      if (out.isError) throw new Error(`${name}: ${out.content[0].text}`);
      return out.structuredContent;
    };
    const { connector } = await call('create_connector', {
      name: `ab-${r}-${Math.random().toString(36).slice(2, 8)}`,
      provider: 's3',
      bucket: 'ab-bench',
      endpoint,
      credentials: { type: 'access_key', access_key_id: 'AKIAABBENCH000000000', secret_access_key: 'ab-bench-secret' },
    });
    const pid = transport.pid;
    const backends = DATABASE_URL ? await backendCpu(DATABASE_URL, [pid]) : null;
    await backends?.start();
    const s0 = stat(pid);
    const t0 = performance.now();
    const job = await call('start_import', { connector_id: connector.id, index: 'ab', prefix: 's/' });
    let st;
    do st = await call('import_status', { job_id: job.job_id, wait_seconds: 30 });
    while (!['completed', 'completed_with_errors', 'failed', 'canceled'].includes(st.status));
    const ms = Math.round(performance.now() - t0);
    const s1 = stat(pid);
    // Read while the pool's connections are still open (they close after 10 s idle).
    const db = backends ? (await backends.stop()).ms : 0;
    const row = { ms, user: s1.user - s0.user, sys: s1.sys - s0.sys, db, faults: s1.faults - s0.faults, peak: peakMb(pid), status: st.status };
    await client.close();
    if (schema) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    results.get(cli).push(row);
    console.log(`${cli}: ${row.status} ${row.ms} ms, CPU ${row.user + row.sys} ms (user ${row.user}, sys ${row.sys})${admin ? `, postgres backends ${row.db} ms` : ''}, ${row.faults} faults, peak ${row.peak} MB`);
  }
}
for (const [cli, rows] of results) {
  console.log(`${cli}: median ${median(rows.map((x) => x.ms))} ms [${rows.map((x) => x.ms).join(' ')}], CPU ${median(rows.map((x) => x.user + x.sys))} ms${admin ? `, postgres backends ${median(rows.map((x) => x.db))} ms, both ${median(rows.map((x) => x.user + x.sys + x.db))} ms` : ''}, peak ${median(rows.map((x) => x.peak))} MB`);
}
await admin?.end();
await proxy?.stop();
await s3.stop?.();
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(0);
