import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Suites spawn servers and loopback storage and wait on them part of the time: three files at a time
    // keep a 2-core machine busy (the suite took 488 s on Node 24 this way against 541 s with two).
    maxWorkers: 3,
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
    },
  },
});
