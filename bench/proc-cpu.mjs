// CPU time of processes from /proc: cloudport's own, and the postgres backends serving its connections.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of the CPU times in /proc/<pid>/stat. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) a process has used so far, all its threads; NaN once it is gone. */
export function procCpuMs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15: utime + stime in clock ticks
  } catch {
    return NaN;
  }
}

/** Local ports of the TCP connections the given processes hold to `port` (their sockets' inodes in /proc/net/tcp*). */
function clientPorts(pids, port) {
  const inodes = new Set();
  for (const pid of pids) {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      if (parseInt(f[2].split(':')[1], 16) === port) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * CPU of the postgres backends serving the connections of `pids` over an interval (start() … stop()):
 * backends are matched by client port, so other clients of the same database do not count. The pool
 * opens and closes connections on demand, so the list is read again every 200 ms: a backend seen
 * first after start() counts from 0 (its connection set-up included), one that ends counts up to its
 * last reading. The backends' /proc must be readable (postgres on this host).
 */
export async function backendCpu(url, pids) {
  const port = Number(new URL(url).port || 5432);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const base = new Map();
  const last = new Map();
  let started = false;
  let stopped = false;
  const sample = async () => {
    const ports = clientPorts(pids, port);
    const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND client_port = ANY($1::int[])', [ports]);
    for (const { pid } of rows) {
      const ms = procCpuMs(pid);
      if (Number.isNaN(ms)) continue;
      if (!base.has(pid)) base.set(pid, started ? 0 : ms);
      last.set(pid, ms);
    }
  };
  let loop = null;
  let ended = false;
  const end = async () => {
    stopped = true;
    await loop;
    if (!ended) await admin.end();
    ended = true;
  };
  return {
    end,
    async start() {
      await sample();
      started = true;
      loop = (async () => {
        while (!stopped) {
          await new Promise((r) => setTimeout(r, 200));
          if (!stopped) await sample();
        }
      })();
    },
    /** Call while the connections are still open; resolves to { ms, backends }. */
    async stop() {
      stopped = true;
      await loop;
      await sample();
      await end();
      if (!base.size) throw new Error('no postgres backend found for the cloudport processes (a TCP database URL is needed)');
      let ms = 0;
      for (const [pid, b] of base) ms += last.get(pid) - b;
      return { ms, backends: base.size };
    },
  };
}
