// The mobile pages' end-to-end tests: Playwright driving Debian's Chromium (never a
// downloaded browser) in mobile emulation (375×667, touch) against the local stack that
// scripts/web-test.sh starts on free ports and passes in the environment (e2e/fixtures.ts).
// Run them with `scripts/web-test.sh --h5`.
import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

const root = fileURLToPath(new URL('../..', import.meta.url))
const out = process.env.SCRM_E2E_OUTPUT ?? `${root}.local/test/e2e-h5`

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
    baseURL: process.env.SCRM_H5_URL ?? 'http://127.0.0.1:4174',
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    // No service worker (sw.js): every test reads the pages and config.json from the server,
    // never a cache a previous page load left, and `page.route` sees every request.
    serviceWorkers: 'block',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
  projects: [{ name: 'mobile-chromium', use: { browserName: 'chromium' } }],
})
