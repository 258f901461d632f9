// Where a page opened from outside goes. Everything WeCom or WeChat adds to a URL comes
// before `#` (a reminder's `?corp_id=&agent_id=&token=`, an OAuth return's `?code=&state=`, the entry's
// `?corp_id=`), so the first route is chosen from the query, not the hash.
//
// OAuth `state`: `s` for staff, `c:<route>` for a customer (the page to return to).
import type { LocationQueryRaw } from 'vue-router'

export interface Landing {
  path: string
  query: LocationQueryRaw
}

/**
 * The first route for the page's query; `used` says whether a link or code was exchanged
 * already (a reload keeps the query, and both are single-use).
 */
export function landing(search: string, used: (credential: string) => boolean = () => false): Landing | null {
  const q = new URLSearchParams(search)
  // A reminder's link: `?corp_id=&agent_id=&token=` (the corp and its app let an expired or
  // already used link fall back to WeCom's login).
  const reminder = q.has('token')
  for (const key of ['token', 'code']) {
    const value = q.get(key)
    if (value && used(value)) q.delete(key)
  }
  const corpId = q.get('corp_id') ?? ''
  const code = q.get('code')
  const state = q.get('state') ?? ''
  const agentId = q.get('agent_id') ?? undefined
  if (q.get('token')) return { path: '/staff/login', query: { token: q.get('token'), corp_id: corpId || undefined, agent_id: agentId } }
  if (reminder) return corpId ? { path: '/staff/login', query: { corp_id: corpId, agent_id: agentId } } : null
  if (code && state.startsWith('s')) return { path: '/staff/login', query: { code, corp_id: corpId } }
  if (code && state.startsWith('c')) {
    const next = state.startsWith('c:') ? state.slice(2) : ''
    return { path: '/c/login', query: { code, corp_id: corpId, scope: q.get('scope') ?? undefined, next: next || undefined } }
  }
  if (q.get('external_userid')) return { path: '/staff/sidebar', query: { external_userid: q.get('external_userid') } }
  if (q.get('chat_id')) return { path: '/staff/sidebar', query: { chat_id: q.get('chat_id') } }
  if (q.get('app') === 'staff') return { path: '/staff/login', query: { corp_id: corpId, agent_id: q.get('agent_id') ?? undefined } }
  if (q.get('app') === 'sidebar') return { path: '/staff/sidebar', query: { corp_id: corpId, agent_id: q.get('agent_id') ?? undefined } }
  if (corpId) return { path: '/c/login', query: { corp_id: corpId, next: q.get('page') ? `/c/${q.get('page')}` : undefined } }
  return null
}

/** The page's address without its query and hash: what OAuth returns to. */
export function pageBase(href: string): string {
  const url = new URL(href)
  return `${url.origin}${url.pathname}`
}

const USED_PREFIX = 'scrm.h5.used:'

/** Remembers, for this tab, that a reminder link or OAuth code was exchanged. */
export function markUsed(credential: string): void {
  try {
    sessionStorage.setItem(USED_PREFIX + credential, '1')
  } catch {
    // Private mode without storage: a reload then shows the link's own error.
  }
}

export function wasUsed(credential: string): boolean {
  try {
    return sessionStorage.getItem(USED_PREFIX + credential) !== null
  } catch {
    return false
  }
}
