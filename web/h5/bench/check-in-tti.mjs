// The customer check-in page's time to interactive on a slow mobile network, for
// scripts/bench-web.sh (which starts the stack, builds the pages and passes the addresses).
//
// The built pages are served here as the deployment serves them (scripts/deploy-web.sh):
// hashed assets `immutable`, index.html and config.json `no-cache`, text gzipped; the
// customer API proxied to the stack's function. Headless Chromium emulates a phone (375×667,
// touch, WeChat's user agent) and the network through the DevTools protocol
// (`Network.emulateNetworkConditions`), for two profiles:
//   - Chrome DevTools' "Slow 3G": 2,000 ms latency, 50,000 B/s down and up (~400 kbps);
//   - WebPageTest's "3G Slow": 400 ms round trip, 400 kbps (50,000 B/s) down and up.
// The session is a demo customer's token (minted with the admin key, as a merchant's backend
// would), in localStorage as after the official-account login.
//
// Per profile, median of BENCH_RUNS (default 7):
//   - baseline: the smallest page (the login page opened without a corp: no API call);
//   - first visit: a fresh context (empty cache) opening the check-in page;
//   - repeat visit: the same context opening it again the next time (the last check-in state
//     kept by the page), as a customer who comes back daily: once with the service worker
//     (sw.js) installed and controlling the page, as it is after a first visit in a browser
//     that has service workers (the first visit waits for it, untimed, before closing), and
//     once with service workers blocked, from the HTTP cache alone (index.html and config.json
//     still asked for), as in the in-app browsers without them.
// Interactive: the check-in button is on the page and not waiting, and the main thread had
// an idle period; the page's own clock from navigation start. Figures only: nothing is
// asserted.
import { createServer, request as httpRequest } from 'node:http'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import { gzipSync } from 'node:zlib'
import { chromium } from '@playwright/test'

const dist = process.env.SCRM_H5_DIST ?? new URL('../dist', import.meta.url).pathname
const lambdaBase = process.env.SCRM_LAMBDA_BASE ?? 'http://127.0.0.1:9000/lambda-url'
const adminApi = process.env.SCRM_ADMIN_API_URL ?? `${lambdaBase}/admin-api`
const adminKey = process.env.SCRM_ADMIN_KEY ?? ''
const corpId = process.env.SCRM_CORP_ID ?? 'wwdemocorp000001'
const customer = process.env.SCRM_BENCH_CUSTOMER ?? 'wmdemo001'
const runs = Number(process.env.BENCH_RUNS ?? 7)
const targetMs = 1000

const PROFILES = [
  { name: 'DevTools "Slow 3G" (2000 ms, 50 KB/s)', latency: 2000, downloadThroughput: 50_000, uploadThroughput: 50_000 },
  { name: 'WebPageTest "3G Slow" (400 ms RTT, 400 kbps)', latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000 },
]
const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701 NetType/WIFI Language/zh_CN'

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' }

// The deployment's static hosting, in miniature.
function serve(req, res) {
  const url = new URL(req.url, 'http://local')
  if (url.pathname.startsWith('/customer-api/')) {
    const target = new URL(lambdaBase + '/customer-api' + url.pathname.slice('/customer-api'.length) + url.search)
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
    return
  }
  let path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '')
  if (path.endsWith('/')) path += 'index.html'
  const file = join(dist, path)
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end()
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
  const headers = { 'content-type': type, 'cache-control': cache }
  if (/^(text|application\/json)/.test(type) && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
    const body = gzipSync(readFileSync(file))
    res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': body.length, vary: 'accept-encoding' })
    return res.end(body)
  }
  res.writeHead(200, headers)
  createReadStream(file).pipe(res)
}

async function admin(method, path, body) {
  const res = await fetch(`${adminApi}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// In the page: performance.now() once `ready()` holds and the main thread has been idle.
async function timeUntil(page, ready) {
  await page.waitForFunction(ready, null, { timeout: 120_000, polling: 'raf' })
  return page.evaluate(() => new Promise((resolve) => requestIdleCallback(() => resolve(performance.now()), { timeout: 5000 })))
}
const checkInReady = () => {
  const b = document.querySelector('[data-testid="check-in"]')
  return !!b && !b.classList.contains('van-button--loading')
}
const loginReady = () => !!document.querySelector('[data-state="empty"]')

const server = createServer(serve)
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`

// Check-in on, as the page is measured with its button.
const rules = await admin('GET', '/v1/points/rules')
if (!rules.check_in?.enabled) {
  await admin('PUT', '/v1/points/rules', { ...rules, check_in: { ...rules.check_in, enabled: true, base_points: rules.check_in?.base_points || 10 } })
}
const session = await admin('POST', '/v1/customer-sessions', { external_userid: customer })
const stored = JSON.stringify({ ...session, corp_id: corpId })

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})

async function phone(loggedIn, serviceWorkers = 'allow') {
  const context = await browser.newContext({
    serviceWorkers,
    baseURL: origin,
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: WECHAT_UA,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  })
  if (loggedIn) await context.addInitScript((value) => localStorage.setItem('scrm.h5.customer', value), stored)
  return context
}

// After a timed visit: the service worker registered, installed and controlling the page
// (a deadline, not a wait: without one, as blocked, nothing to wait for).
async function serviceWorkerInControl(page) {
  await page.waitForFunction(() => !('serviceWorker' in navigator) || !!navigator.serviceWorker.controller, null, {
    timeout: 120_000,
    polling: 100,
  })
}

async function open(context, profile, path, ready, after) {
  const page = await context.newPage()
  if (profile) {
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...profile, connectionType: 'cellular3g' })
  }
  await page.goto(path, { waitUntil: 'commit' })
  const ms = await timeUntil(page, ready)
  if (after) await after(page)
  await page.close()
  return ms
}

const fmt = (ms) => `${(ms / 1000).toFixed(3)} s`
const line = (label, xs, target) =>
  `  ${label.padEnd(30)} ${fmt(median(xs))}   (min ${fmt(Math.min(...xs))}, max ${fmt(Math.max(...xs))})` +
  (target ? `   target ${fmt(targetMs)}: ${median(xs) <= targetMs ? 'within' : 'OVER'}` : '')

try {
  // Warm-up: the function's first requests, the server's first reads.
  const warm = await phone(true)
  await open(warm, null, '/#/c/check-in', checkInReady)
  await warm.close()

  console.log(`Customer check-in page, time to interactive, headless Chromium 375×667 touch, median of ${runs}:`)
  for (const profile of [null, ...PROFILES]) {
    const baseline = []
    const first = []
    const repeat = []
    const repeatHttpCache = []
    for (let i = 0; i < runs; i++) {
      const blank = await phone(false)
      baseline.push(await open(blank, profile, '/#/c/login', loginReady))
      await blank.close()
      const context = await phone(true)
      first.push(await open(context, profile, '/#/c/check-in', checkInReady, serviceWorkerInControl))
      repeat.push(await open(context, profile, '/#/c/check-in', checkInReady))
      await context.close()
      const without = await phone(true, 'block')
      await open(without, profile, '/#/c/check-in', checkInReady)
      repeatHttpCache.push(await open(without, profile, '/#/c/check-in', checkInReady))
      await without.close()
    }
    console.log(profile ? profile.name : 'no throttling (the local machine)')
    console.log(line('baseline (login page, empty)', baseline, false))
    console.log(line('check-in, first visit', first, !!profile))
    console.log(line('check-in, repeat visit', repeat, !!profile))
    console.log(line('  without service worker', repeatHttpCache, !!profile))
  }
} finally {
  await browser.close()
  server.close()
}
