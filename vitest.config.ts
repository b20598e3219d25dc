import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The workspace packages (clients/, integrations/) are tested from their TypeScript sources, not a build.
  resolve: { conditions: ['@oauth-usage/source'] },
  ssr: { resolve: { conditions: ['@oauth-usage/source'], externalConditions: ['@oauth-usage/source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    // DynamoDB Local and the SQS emulator, started once per run on free ports.
    globalSetup: ['test/support/global-setup.ts'],
    // Per test file: its own table and the handlers' environment.
    setupFiles: ['test/support/test-env.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // expect.poll waits for what a browser or a queue gets to in its own time: up to 10 s on a busy CI machine.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 90_000,
  },
});
