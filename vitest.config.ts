import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Suites spawn servers and loopback storage; two at a time fits a 2-core machine.
    maxWorkers: 2,
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:1',
    },
  },
});
