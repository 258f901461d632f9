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

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<H5Config> {
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
