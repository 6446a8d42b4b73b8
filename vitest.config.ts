import { defineConfig } from 'vitest/config'

// Two projects over the same files:
// - `unit` (npm test): everything, with the embedded store (PGlite) and the in-process broker.
// - `services` (npm run test:services): the integration suites again, against the PostgreSQL
//   server and Mosquitto on loopback (LATCHKEY_TEST_SERVICES=1 selects them in test/harness).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          globalSetup: ['test/bundle-cli.ts'],
          include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.services.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'services',
          globalSetup: ['test/bundle-cli.ts'],
          include: ['test/**/*.e2e.test.ts', 'packages/*/src/**/*.services.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
