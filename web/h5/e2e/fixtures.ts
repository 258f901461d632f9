// What the mobile pages' specs import instead of '@playwright/test' (the same helpers as the
// console's e2e/fixtures.ts, for this package):
//
//   import { test, expect, apiOk, invoke, fake, shot, axe, stack, WECHAT_UA, WECOM_UA } from './fixtures'
//
// scripts/web-test.sh passes the stack's addresses in the environment: SCRM_H5_URL (the
// built pages under `vite preview`, the tests' baseURL), SCRM_ADMIN_API_URL, SCRM_ADMIN_KEY,
// SCRM_CORP_ID, SCRM_WECOM_URL (the fake WeCom and WeChat server), SCRM_LAMBDA_URL and
// SCRM_SCREENSHOTS.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type Page } from '@playwright/test'
import AxeBuilder from '@axe-core/playwright'

export { expect }

const root = fileURLToPath(new URL('../../..', import.meta.url))

export const stack = {
  h5Url: process.env.SCRM_H5_URL ?? 'http://127.0.0.1:4174',
  adminApiUrl: process.env.SCRM_ADMIN_API_URL ?? 'http://127.0.0.1:9000/lambda-url/admin-api',
  adminKey: process.env.SCRM_ADMIN_KEY ?? '',
  corpId: process.env.SCRM_CORP_ID ?? 'wwdemocorp000001',
  wecomUrl: process.env.SCRM_WECOM_URL ?? 'http://127.0.0.1:8400',
  lambdaUrl: process.env.SCRM_LAMBDA_URL ?? 'http://127.0.0.1:9000',
  screenshots: process.env.SCRM_SCREENSHOTS ?? `${root}.local/test/screenshots`,
}

/** WeChat's in-app browser on a phone (customers' pages). */
export const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701 NetType/WIFI Language/zh_CN'

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`)
    this.name = 'ApiCallError'
  }
}

async function call<T>(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
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
    throw new ApiCallError(res.status, err?.code ?? `http_${res.status}`, `${method} ${url}: ${err?.message ?? text}`)
  }
  return parsed as T
}

/** The admin API with the demo tenant's admin key: `await apiOk('GET', '/v1/points/rules')`. */
export function apiOk<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  return call<T>(`${stack.adminApiUrl}${path}`, method, { Authorization: `Bearer ${stack.adminKey}`, ...headers }, body)
}

/** Runs an event or scheduled function (e.g. `sop-dispatch`) through the Lambda emulator. */
export async function invoke<T = unknown>(fn: string, payload: unknown = {}): Promise<T> {
  const res = await fetch(`${stack.lambdaUrl}/2015-03-31/functions/${fn}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  const text = await res.text()
  if (!res.ok || res.headers.get('x-amz-function-error')) throw new Error(`invoke ${fn}: ${res.status} ${text}`)
  return (text ? JSON.parse(text) : null) as T
}

/** What the fake WeCom server delivered: the app messages (task reminders) of the corp. */
export async function appMessages(): Promise<{ touser?: string; textcard?: { title?: string; description?: string; url?: string } }[]> {
  const body = await call<{ messages: never[] }>(`${stack.wecomUrl}/_fake/app-messages?corp_id=${stack.corpId}`, 'GET', {})
  return body.messages
}

/** A full-page screenshot into the run's screenshot folder (`h5-<name>.png`). */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(stack.screenshots, { recursive: true })
  await page.screenshot({ path: `${stack.screenshots}/h5-${name}.png`, fullPage: true })
}

/** Fails on any serious or critical accessibility violation of the page as it is. */
export async function axe(page: Page): Promise<void> {
  // An element still fading in has not reached its colours, and axe reads it as low contrast:
  // wait for finite animations to end first.
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity),
  )
  const results = await new AxeBuilder({ page }).analyze()
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`),
    'serious or critical accessibility violations',
  ).toEqual([])
}

export const test = base
