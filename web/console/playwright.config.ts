// End-to-end tests: Playwright driving Debian's Chromium (never a downloaded browser) against
// the local stack that scripts/web-test.sh starts on free ports and passes in the environment
// (see e2e/fixtures.ts for the variables). Run them with `scripts/web-test.sh`.
import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

const root = fileURLToPath(new URL('../..', import.meta.url))
const out = process.env.SCRM_E2E_OUTPUT ?? `${root}.local/test/e2e`

export default defineConfig({
  testDir: 'e2e',
  // One worker: the specs share one tenant, and CI has two cores for the stack and the browser.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: `${out}/results`,
  reporter: [['list'], ['html', { outputFolder: `${out}/report`, open: 'never' }]],
  use: {
    baseURL: process.env.SCRM_CONSOLE_URL ?? 'http://127.0.0.1:4173',
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Without the background-networking switches Chromium's own connections (updates,
      // sync, QUIC probes) are refused on locked-down networks and slow every page down.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
})
