// What every end-to-end spec imports instead of '@playwright/test':
//
//   import { test, expect, api, apiOk, invoke, loginWithWeCom, loginWithKey, shot, axe, stack } from './fixtures'
//
// scripts/web-test.sh starts the local stack on free ports and passes its addresses here in
// the environment: SCRM_CONSOLE_URL (the built console under `vite preview`, the tests'
// baseURL), SCRM_ADMIN_API_URL (the admin API itself), SCRM_ADMIN_KEY (the demo tenant's
// admin key), SCRM_CORP_ID, SCRM_WECOM_URL (the fake WeCom server), SCRM_LAMBDA_URL (the
// Lambda emulator, for event and scheduled functions) and SCRM_SCREENSHOTS.
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type Page } from '@playwright/test'
import AxeBuilder from '@axe-core/playwright'
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from '../src/api/schema'

export { expect }

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** The local stack's addresses and the demo tenant (defaults: scripts/dev.sh's ports). */
export const stack = {
  consoleUrl: process.env.SCRM_CONSOLE_URL ?? 'http://127.0.0.1:4173',
  adminApiUrl: process.env.SCRM_ADMIN_API_URL ?? 'http://127.0.0.1:9000/lambda-url/admin-api',
  adminKey: process.env.SCRM_ADMIN_KEY ?? '',
  corpId: process.env.SCRM_CORP_ID ?? 'wwdemocorp000001',
  wecomUrl: process.env.SCRM_WECOM_URL ?? 'http://127.0.0.1:8400',
  lambdaUrl: process.env.SCRM_LAMBDA_URL ?? 'http://127.0.0.1:9000',
  screenshots: process.env.SCRM_SCREENSHOTS ?? `${root}.local/test/screenshots`,
  /** The command line (`scrm`) and the tenant's callback secrets, to deliver callbacks. */
  cli: process.env.SCRM_CLI ?? 'scrm',
  callbackToken: process.env.SCRM_CALLBACK_TOKEN ?? '',
  aesKey: process.env.SCRM_AES_KEY ?? '',
}

/** A non-2xx answer of the admin API, in its own terms (`{"error": {"code", "message"}}`). */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(`${status} ${code}: ${message}`)
    this.name = 'ApiCallError'
  }
}

const throwOnError: Middleware = {
  async onResponse({ request, response }) {
    if (response.ok) return response
    const text = await response.clone().text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // Not JSON: keep the text.
    }
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiCallError(
      response.status,
      err?.code ?? `http_${response.status}`,
      `${request.method} ${new URL(request.url).pathname}: ${err?.message ?? text}`,
      body,
    )
  },
}

/**
 * The admin API with the demo tenant's admin key, typed from docs/openapi.yaml, for setting
 * up and checking state from Node (not through the pages). Non-2xx answers throw
 * ApiCallError, so `const { data } = await api.GET('/v1/...')` only sees successes.
 */
export const api = createClient<paths>({
  baseUrl: stack.adminApiUrl,
  headers: { Authorization: `Bearer ${stack.adminKey}` },
})
api.use(throwOnError)

/**
 * The same client without the spec's types (a route the generated schema does not list yet,
 * or a body the spec gives in prose): `await apiOk('POST', '/v1/points/awards', { ... })`.
 */
export async function apiOk<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.adminApiUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${stack.adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    // Not JSON: keep the text.
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiCallError(res.status, err?.code ?? `http_${res.status}`, `${method} ${path}: ${err?.message ?? text}`, parsed)
  }
  return parsed as T
}

/**
 * Invokes an event or scheduled function (e.g. `sop-dispatch`, `points-expiry-sweep`) the way
 * its trigger would, through the Lambda emulator, and returns its result.
 */
export async function invoke<T = unknown>(fn: string, payload: unknown = {}): Promise<T> {
  const res = await fetch(`${stack.lambdaUrl}/2015-03-31/functions/${fn}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  const text = await res.text()
  if (!res.ok || res.headers.get('x-amz-function-error')) {
    throw new Error(`invoke ${fn}: ${res.status} ${text}`)
  }
  return (text ? JSON.parse(text) : null) as T
}

/** A customer's add through a 「联系我」 code, as the fake WeCom server played it. */
export interface FakeAdd {
  userid: string
  external_userid: string
  state: string
  welcome_code: string
  at: number
}

/**
 * A customer scans the channel code with `state` and WeCom delivers the callback: the fake
 * WeCom server records the add and issues a welcome code (`POST /_fake/scan`), then
 * `scrm simulate add-contact` sends the encrypted, signed callback to the stack's
 * wecom-callback function, as WeCom would.
 */
export async function scanChannelCode(state: string, externalUserid: string, name: string): Promise<FakeAdd> {
  const q = new URLSearchParams({ corp_id: stack.corpId, state, external_userid: externalUserid, name })
  const res = await fetch(`${stack.wecomUrl}/_fake/scan?${q}`, { method: 'POST' })
  if (!res.ok) throw new Error(`fake scan of ${state}: ${res.status} ${await res.text()}`)
  const add = (await res.json()) as FakeAdd
  await simulate('add-contact', [
    '--user-id',
    add.userid,
    '--external-user-id',
    add.external_userid,
    '--state',
    add.state,
    '--welcome-code',
    add.welcome_code,
    '--create-time',
    String(add.at),
  ])
  return add
}

/**
 * Sends one WeCom callback to the stack's wecom-callback function, encrypted and signed with
 * the demo tenant's secrets, as WeCom would (`scrm simulate EVENT ARGS...`).
 */
export async function simulate(event: string, args: string[] = []): Promise<void> {
  await promisify(execFile)(stack.cli, [
    'simulate',
    event,
    '--url',
    `${stack.lambdaUrl}/lambda-url/wecom-callback/callback/{corp_id}`,
    '--corp-id',
    stack.corpId,
    '--token',
    stack.callbackToken,
    '--aes-key',
    stack.aesKey,
    ...args,
  ])
}

/** The welcome messages the fake WeCom server accepted for the demo corp, oldest first. */
export async function welcomeMessages(): Promise<{ welcome_code: string; text?: { content?: string }; attachments?: unknown[] }[]> {
  const res = await fetch(`${stack.wecomUrl}/_fake/welcome-messages?corp_id=${stack.corpId}`)
  return ((await res.json()) as { messages: never[] }).messages
}

/** What the console keeps in localStorage after each member's scan login (see loginWithWeCom). */
const wecomSessions = new Map<string, Record<string, string>>()
const SESSION_KEY = 'scrm.console.session'

/** Whether the admin API still accepts the session the console stored (not revoked, not expired). */
async function sessionAlive(storage: Record<string, string>): Promise<boolean> {
  try {
    const token = (JSON.parse(storage[SESSION_KEY] ?? '{}') as { token?: string }).token
    if (!token) return false
    const res = await fetch(`${stack.adminApiUrl}/v1/console/session`, { headers: { Authorization: `Bearer ${token}` } })
    return res.ok
  } catch {
    return false
  }
}

/**
 * Logs in as a member of the demo corp with WeCom's scan login, the way an operator does: the
 * console's login page sends the browser to the fake WeCom server's scan page, where the
 * member confirms; WeCom redirects back with a code the console exchanges for a session.
 * The demo maps `zhangsan` to admin and `lisi` to operator (scripts/web-test.sh).
 *
 * The scan runs once per member per run: later calls put that session back into the
 * browser's storage (a minute of the suite's time saved), as long as the admin API still
 * accepts it (a role change, a logout or a departure revokes it, and the scan runs again).
 * The login spec, and `{ fresh: true }`, always go through the scan page.
 */
export async function loginWithWeCom(page: Page, userid: string, options: { fresh?: boolean } = {}): Promise<void> {
  const fresh = options.fresh || /(^|[\\/])login\.spec\.ts$/.test(base.info().file)
  const saved = wecomSessions.get(userid)
  if (!fresh && saved && (await sessionAlive(saved))) {
    // Any document of the console's origin gives access to its storage.
    await page.goto('/config.json')
    await page.evaluate((entries) => {
      for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v)
    }, saved)
    await page.goto('/')
    await page.waitForURL((url) => !url.pathname.startsWith('/login') && url.pathname !== '/')
    return
  }
  await page.goto('/login')
  // The page renders once the app has read /config.json: wait for it before looking for the
  // corp id field, or the field is not there yet and the login starts without a corp.
  await expect(page.getByTestId('login-wecom')).toBeVisible()
  const corp = page.getByTestId('login-corp-id')
  if (await corp.count()) await corp.fill(stack.corpId)
  await page.getByTestId('login-wecom').click()
  await page.waitForURL((url) => url.pathname.startsWith('/wwlogin/sso/login'))
  // The fake scan page: one confirmation per member of the corp.
  const byId = page.locator(`[data-userid="${userid}"]`)
  if (await byId.count()) {
    await byId.first().click()
  } else {
    await page.getByRole('link', { name: new RegExp(userid) }).or(page.getByRole('button', { name: new RegExp(userid) })).first().click()
  }
  await page.waitForURL((url) => url.origin === new URL(stack.consoleUrl).origin && !url.pathname.startsWith('/login'))
  const storage = await page.evaluate(() => ({ ...localStorage }))
  if (storage[SESSION_KEY]) wecomSessions.set(userid, storage)
}

/**
 * Logs in with the demo tenant's admin API key (the first admin's and the developers' way in),
 * through the login page's API-key tab.
 */
export async function loginWithKey(page: Page, key: string = stack.adminKey): Promise<void> {
  await page.goto('/login')
  await page.getByTestId('login-tab-key').click()
  await page.getByTestId('login-key-input').fill(key)
  await page.getByTestId('login-key-submit').click()
  await page.waitForURL((url) => !url.pathname.startsWith('/login'))
}

/** Saves a full-page screenshot of what the page shows now as `<name>.png` in the run's folder. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(stack.screenshots, { recursive: true })
  const file = name.replace(/[^\w.-]+/g, '-')
  await page.screenshot({ path: `${stack.screenshots}/${file}.png`, fullPage: true, animations: 'disabled' })
}

/**
 * Scans the page with axe (WCAG 2.1 A and AA rules) and fails on any serious or critical
 * violation, listing each with the elements it found.
 */
export async function axe(page: Page, options: { exclude?: string[] } = {}): Promise<void> {
  // An element still fading in has not reached its colours, and axe reads it as low contrast:
  // wait for finite animations to end first (specs that forget `settled` stay correct).
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity),
  )
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
  for (const selector of options.exclude ?? []) builder = builder.exclude(selector)
  const results = await builder.analyze()
  const blocking = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`)
  expect(blocking, `axe violations on ${page.url()}`).toEqual([])
}

/** Playwright's test, with the console's fixtures to come (the helpers above are plain functions). */
export const test = base
