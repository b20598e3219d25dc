import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // DynamoDB Local and the SQS emulator, started once per run on free ports.
    globalSetup: ['test/support/global-setup.ts'],
    // Per test file: its own table and the handlers' environment.
    setupFiles: ['test/support/test-env.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
