// WeCom's web (scan) login for a self-built app: the link to WeCom's page, and the `state` that
// proves the code WeCom returns answers a login started here.

export const LOGIN_STATE_KEY = 'scrm.console.loginState'

export interface LoginOptions {
  corp_id: string
  wecom_login: boolean
  agent_id: number | null
  sso_url: string
  session_ttl_seconds?: number
}

export interface PendingLogin {
  state: string
  corpId: string
  redirect: string | null
}

export function randomState(): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** `{sso_url}?login_type=CorpApp&appid=&agentid=&redirect_uri=&state=&lang=` */
export function scanLoginUrl(options: LoginOptions, redirectUri: string, state: string, locale: string): string {
  const url = new URL(options.sso_url)
  url.searchParams.set('login_type', 'CorpApp')
  url.searchParams.set('appid', options.corp_id)
  url.searchParams.set('agentid', String(options.agent_id ?? ''))
  url.searchParams.set('redirect_uri', redirectUri)
  url.searchParams.set('state', state)
  url.searchParams.set('lang', locale === 'en' ? 'en' : 'zh')
  return url.toString()
}

export function savePending(pending: PendingLogin): void {
  sessionStorage.setItem(LOGIN_STATE_KEY, JSON.stringify(pending))
}

/** The login started here, once: reading it forgets it, so a code is exchanged only once. */
export function takePending(): PendingLogin | null {
  const raw = sessionStorage.getItem(LOGIN_STATE_KEY)
  sessionStorage.removeItem(LOGIN_STATE_KEY)
  if (!raw) return null
  try {
    return JSON.parse(raw) as PendingLogin
  } catch {
    return null
  }
}

/** Only paths of this console are followed after a login (never another site). */
export function safeRedirect(raw: unknown): string | null {
  return typeof raw === 'string' && raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/login')
    ? raw
    : null
}
