import { defineConfig } from '@playwright/test'

// End-to-end tests run against the production build (`next build` first) served by `next start`,
// in Debian's Chromium: a downloaded browser cannot be installed on these machines.
const PORT = Number(process.env.E2E_PORT ?? 3217)
export const E2E_TOKEN = 'e2e-test-token-0123456789'
// Every test starts authenticated: the "auth-setup" project (e2e/auth.setup.ts) visits /?token=
// and saves the cookie here; the "e2e" project loads it (see e2e/auth-state.ts).
const E2E_AUTH_STATE = 'var/e2e/.auth/state.json'

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'var/reports/e2e-results.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [
    { name: 'auth-setup', testMatch: /auth\.setup\.ts$/ },
    {
      name: 'e2e',
      testIgnore: /auth\.setup\.ts$/,
      dependencies: ['auth-setup'],
      use: { storageState: E2E_AUTH_STATE },
    },
  ],
  webServer: {
    command: `npx next start -p ${PORT} -H 127.0.0.1`,
    url: `http://127.0.0.1:${PORT}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    env: {
      NEXT_TELEMETRY_DISABLED: '1',
      CONTROLROOM_TOKEN: E2E_TOKEN,
      CONTROLROOM_HOME: './var/e2e',
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'file:./var/e2e/controlroom.db',
    },
  },
})
