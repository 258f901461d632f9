// What the service worker (worker.js) does with a request: a pure function so the rules
// that keep API answers and tokens out of the cache are unit-tested. The build inlines this
// file into sw.js (scripts/service-worker-plugin.ts), so it imports nothing.

/**
 * - `asset`: a hashed file under `<scope>assets/` (its name changes with its content): served
 *   from the cache, fetched and kept on a miss.
 * - `shell`: index.html (or the scope's folder itself) and config.json: served from the cache
 *   at once and refreshed in the background, so a new deployment shows on the next visit.
 * - `network`: everything else, never cached nor answered by the worker: API calls (customer
 *   and staff APIs, proxied under the same origin locally), OAuth redirects and reminder links
 *   (their code or token is in the query), other origins, writes.
 */
export type SwRoute = { kind: 'asset'; key: string } | { kind: 'shell'; key: string } | { kind: 'network' }

export function routeRequest(method: string, url: string, scope: string): SwRoute {
  if (method !== 'GET') return { kind: 'network' }
  const target = new URL(url)
  const base = new URL(scope)
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) return { kind: 'network' }
  // A query carries an OAuth code, a reminder's token or a session: such a URL is never kept.
  if (target.search !== '') return { kind: 'network' }
  const path = target.pathname.slice(base.pathname.length)
  const key = base.origin + base.pathname + path
  if (/^assets\/[^/]+$/.test(path)) return { kind: 'asset', key }
  if (path === '' || path === 'index.html') return { kind: 'shell', key: base.origin + base.pathname + 'index.html' }
  if (path === 'config.json') return { kind: 'shell', key }
  return { kind: 'network' }
}

/** The cache a build's worker keeps its files in: one per build, older ones are dropped. */
export function cacheName(version: string): string {
  return `scrm-h5-${version}`
}

/** Whether a cache belongs to this app and to another build than `version` (to delete). */
export function isStaleCache(name: string, version: string): boolean {
  return name.startsWith('scrm-h5-') && name !== cacheName(version)
}
