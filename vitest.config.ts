import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // A page polled while two other files load the 2 cores can take seconds to render what the default
    // one second of expect.poll would miss; a poll still ends the moment its condition holds.
    expect: { poll: { timeout: 15_000 } },
    // Suites spawn servers and loopback storage and wait on them part of the time: three files at a time
    // keep a 2-core machine busy (the suite took 488 s on Node 24 this way against 541 s with two).
    maxWorkers: 3,
    // Files share their worker's module cache: a fresh process and module graph per file (fauxqs, the AWS
    // SDK, the MCP client) cost 35% of the unit files' CPU and 8% of the end-to-end files' on 2 cores that
    // the suite keeps busy. Files keep no state in modules: servers, buckets and stores are their own.
    isolate: false,
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
    },
  },
});
