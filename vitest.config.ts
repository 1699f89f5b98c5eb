import {configDefaults, defineConfig} from 'vitest/config'

// Two tiers, by file name: `*.test.ts` run in-process on the TypeScript sources (no build
// needed: `npm run test:unit`); `*.integration.test.ts` run the built CLI, real Prometheus and
// Alertmanager, or a real Chromium (`npm run test:integration`). `npm test` builds and runs both.
const INTEGRATION = 'test/**/*.integration.test.ts'

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    // oclif writes through console.log; runCommand needs to see it.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, INTEGRATION]},
      },
      {extends: true, test: {name: 'integration', include: [INTEGRATION]}},
    ],
  },
})
