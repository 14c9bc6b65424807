import fs from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

/** Files that drive spawned servers: their own state lives in those processes, not in modules. */
const SERVER_FILES = ['test/e2e/**/*.test.ts'];

/**
 * CI runs the suite on Node 20 and again on Node 24 (CLOUDPORT_SECOND_NODE=1) within 30 minutes of
 * 2 cores, where a whole suite takes 16. The second run keeps every in-process file (units, the store
 * suite on SQLite and PostgreSQL, the provider contract suite through each real client) and the
 * end-to-end files that walk the product's paths (test/e2e/<one word>.test.ts: imports, exports, search,
 * HTTP, CLI, durability, faults, automations ...), which take Node's HTTP, streams, worker threads, child
 * processes, signals and file system through every feature. It leaves out the edge files (one behaviour
 * of our own code each: a text, a limit, an error), the pages (Chromium renders them) and the files that
 * orchestrate several server processes on one store.
 */
const SECOND_NODE = process.env.CLOUDPORT_SECOND_NODE === '1';
const MULTI_PROCESS = ['test/e2e/workers.test.ts'];
const serverFiles = SECOND_NODE
  ? fs.readdirSync(new URL('./test/e2e', import.meta.url)).filter((f) => /^[a-z0-9]+\.test\.ts$/.test(f)).map((f) => `test/e2e/${f}`).filter((f) => !MULTI_PROCESS.includes(f))
  : SERVER_FILES;
const skips = SECOND_NODE ? ['test/browser/**'] : [];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // A page polled while two other files load the 2 cores can take seconds to render what the default
    // one second of expect.poll would miss; a poll still ends the moment its condition holds.
    expect: { poll: { timeout: 15_000 } },
    // Suites spawn servers and loopback storage and wait on them part of the time: three files at a time
    // keep a 2-core machine busy (the suite took 488 s on Node 24 this way against 541 s with two).
    maxWorkers: 3,
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
    },
    projects: [
      {
        extends: true,
        // The server-driving files share their worker's module cache (fauxqs, the AWS SDK, the MCP
        // client are loaded once per worker, not once per file): 8% of their CPU on 2 cores.
        // The in-process files (store, unit, providers) keep a module graph each, as they set module
        // state (tuning knobs, mocks, temp roots) that must not reach the next file, and so do the page
        // files, each with its own Chromium.
        test: { name: 'servers', include: serverFiles, isolate: false },
      },
      {
        extends: true,
        test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SERVER_FILES, ...skips] },
      },
    ],
  },
});
