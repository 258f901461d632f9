// The dashboard's time to interactive in headless Chromium, for scripts/bench-web.sh (which
// starts the stack and the built console and passes their addresses as for the e2e tests).
// Each run opens a fresh browser context (empty cache) logged in with a console session,
// loads the dashboard and takes the page's own clock (ms since navigation start) when every
// chart in view has drawn (EChart.vue draws a chart when it nears the viewport: those further
// down draw when scrolled to), no skeleton is left and the main thread is idle. The baseline is the
// same measure of the login page (no session, no API call, no chart) in the same run.
// Prints figures; asserts nothing.
import { chromium } from '@playwright/test'

const consoleUrl = process.env.SCRM_CONSOLE_URL ?? 'http://127.0.0.1:4173'
const adminApi = process.env.SCRM_ADMIN_API_URL ?? 'http://127.0.0.1:9000/lambda-url/admin-api'
const adminKey = process.env.SCRM_ADMIN_KEY ?? ''
const runs = Number(process.env.BENCH_RUNS ?? 7)
const targetMs = 1500

async function consoleSession() {
  const res = await fetch(`${adminApi}/v1/console/sessions/key`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminKey}` },
  })
  if (!res.ok) throw new Error(`POST /v1/console/sessions/key: ${res.status} ${await res.text()}`)
  return res.json()
}

// In the page: resolves with performance.now() once `ready()` holds and the main thread has
// had an idle period.
async function timeUntil(page, ready, timeoutMs = 30_000) {
  await page.waitForFunction(ready, null, { timeout: timeoutMs, polling: 'raf' })
  return page.evaluate(
    () => new Promise((resolve) => requestIdleCallback(() => resolve(performance.now()), { timeout: 5000 })),
  )
}

// The console's charts (EChart.vue) draw into a canvas inside [data-test=echart], those in
// view only; a page still loading shows PageState's skeleton ([data-state=loading]).
const chartsDrawn = () => {
  const canvases = [...document.querySelectorAll('[data-test="echart"] canvas')]
  const loading = document.querySelectorAll('[data-state="loading"], .el-skeleton')
  return canvases.length > 0 && canvases.every((c) => c.width > 0 && c.height > 0) && loading.length === 0
}
const loginShown = () => {
  const app = document.querySelector('#app')
  return !!app && app.querySelector('button, input') !== null
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const browser = await chromium.launch({
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
})
try {
  const session = await consoleSession()
  const stored = JSON.stringify({ ...session, corp_id: session.corp_id ?? process.env.SCRM_CORP_ID })
  const measure = async (path, ready, loggedIn) => {
    const context = await browser.newContext({ baseURL: consoleUrl, viewport: { width: 1440, height: 900 } })
    if (loggedIn) {
      await context.addInitScript((value) => localStorage.setItem('scrm.console.session', value), stored)
    }
    const page = await context.newPage()
    await page.goto(path, { waitUntil: 'commit' })
    const ms = await timeUntil(page, ready)
    const charts = loggedIn ? await page.locator('[data-test="echart"] canvas').count() : 0
    await context.close()
    return { ms, charts }
  }
  // One warm-up of each (the functions' first requests, the preview server's first reads).
  await measure('/login', loginShown, false)
  await measure('/dashboard', chartsDrawn, true)

  const baseline = []
  const dashboard = []
  let charts = 0
  for (let i = 0; i < runs; i++) {
    baseline.push((await measure('/login', loginShown, false)).ms)
    const d = await measure('/dashboard', chartsDrawn, true)
    dashboard.push(d.ms)
    charts = d.charts
  }
  const fmt = (ms) => `${(ms / 1000).toFixed(3)} s`
  console.log(`Time to interactive, headless Chromium, fresh context each run, median of ${runs}:`)
  console.log(`  login page (baseline)   ${fmt(median(baseline))}   (min ${fmt(Math.min(...baseline))}, max ${fmt(Math.max(...baseline))})`)
  console.log(
    `  dashboard (${charts} charts)    ${fmt(median(dashboard))}   (min ${fmt(Math.min(...dashboard))}, max ${fmt(Math.max(...dashboard))})   target ${fmt(targetMs)}: ${median(dashboard) <= targetMs ? 'within' : 'OVER'}`,
  )
} finally {
  await browser.close()
}
