// Runtime configuration, read from config.json next to index.html so one build serves every
// deployment: the deployment writes its own file.
export interface H5Config {
  /** Where the customer API answers, e.g. `/customer-api` (proxied) or an absolute URL. */
  customerApiBase: string
  /** Where the staff API answers, e.g. `/staff-api` (proxied) or an absolute URL. */
  staffApiBase: string
  /**
   * WeCom's in-app OAuth page for staff (`#wechat_redirect` is appended); a local stack
   * points it at the fake WeCom server.
   */
  wecomOauthBase: string
}

const fallback: H5Config = {
  customerApiBase: '/customer-api',
  staffApiBase: '/staff-api',
  wecomOauthBase: 'https://open.weixin.qq.com/connect/oauth2/authorize',
}
let loaded: H5Config = fallback

declare global {
  interface Window {
    /** config.json, asked for by index.html while the scripts download (null: unreadable). */
    __scrmConfig?: Promise<Partial<H5Config> | null>
  }
}

let reading: Promise<H5Config> | null = null

/** Reads config.json (once per call); API calls wait for the latest read (`configReady`). */
export function loadConfig(fetchImpl: typeof fetch = fetch): Promise<H5Config> {
  reading = read(fetchImpl)
  return reading
}

/**
 * The configuration once read. The API clients wait for it, so a page may draw (from what it
 * kept of its last visit) before config.json has arrived, and still never calls a wrong base.
 */
export function configReady(): Promise<H5Config> {
  return reading ?? Promise.resolve(loaded)
}

async function read(fetchImpl: typeof fetch): Promise<H5Config> {
  const early = typeof window !== 'undefined' ? window.__scrmConfig : undefined
  if (early) {
    const read = await early
    if (read) {
      loaded = { ...fallback, ...read }
      return loaded
    }
  }
  try {
    const res = await fetchImpl('./config.json', { cache: 'no-store' })
    if (res.ok) loaded = { ...fallback, ...((await res.json()) as Partial<H5Config>) }
  } catch {
    // No config.json (unit tests): the defaults are the local proxy's.
  }
  return loaded
}

export function config(): H5Config {
  return loaded
}

export function setConfig(next: Partial<H5Config>): void {
  loaded = { ...loaded, ...next }
}

/**
 * Whether the app may start before config.json arrives: only the customer's check-in page
 * opened as such (no login or OAuth in the query), which draws from its last visit and whose
 * API calls wait for the configuration. On a slow network that is a round trip sooner.
 */
export function startsBeforeConfig(loc: Pick<Location, 'hash' | 'search'>): boolean {
  return loc.search === '' && /^#\/c\/check-in\/?$/.test(loc.hash)
}
