import { configDefaults, defineConfig } from 'vitest/config';

/** Files that drive spawned servers: their own state lives in those processes, not in modules. */
const SERVER_FILES = ['test/e2e/**/*.test.ts'];

/**
 * CI runs the suite on Node 20 and again on Node 24 (CLOUDPORT_SECOND_NODE=1) within 30 minutes of
 * 2 cores. The second run is every file but the pages (test/browser: Chromium renders them; the servers
 * they talk to are the same built server the end-to-end files drive on Node 24), which keeps it within
 * the budget: since the server runs from a bundle, a suite takes 8–10 minutes on each Node there.
 */
const SECOND_NODE = process.env.CLOUDPORT_SECOND_NODE === '1';
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
        test: { name: 'servers', include: SERVER_FILES, isolate: false },
      },
      {
        extends: true,
        test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SERVER_FILES, ...skips] },
      },
    ],
  },
});
