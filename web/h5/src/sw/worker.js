// The mobile pages' service worker (built into sw.js with the build's VERSION, its PRECACHE
// list and routing.ts's functions: scripts/service-worker-plugin.ts). A returning customer's
// page then starts from the cache, without a round trip for index.html and config.json:
// hashed assets cache-first, index.html and config.json stale-while-revalidate, everything
// else (the APIs, OAuth redirects, any URL with a query) left to the network and never kept.
/* global VERSION, PRECACHE, routeRequest, cacheName, isStaleCache */

const CACHE = cacheName(VERSION)
const scope = self.registration.scope

function keep(cache, key, response) {
  // Only whole, same-origin, final answers: never an error page nor a redirect.
  if (response.ok && response.type === 'basic' && !response.redirected) return cache.put(key, response.clone())
  return Promise.resolve()
}

// The new build's files, then take over at once: a deployment reaches the next visit, never
// waits for every tab of the old build to close.
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        Promise.all(
          PRECACHE.map((path) => {
            const url = new URL(path, scope).href
            const route = routeRequest('GET', url, scope)
            return fetch(url).then((response) => keep(cache, route.kind === 'network' ? url : route.key, response))
          }),
        ),
      )
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => isStaleCache(name, VERSION)).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener('fetch', (event) => {
  const route = routeRequest(event.request.method, event.request.url, scope)
  if (route.kind === 'network') return
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(route.key).then((cached) => {
        if (route.kind === 'asset') {
          return cached || fetch(event.request).then((response) => keep(cache, route.key, response).then(() => response))
        }
        const refreshed = fetch(event.request).then((response) => keep(cache, route.key, response).then(() => response))
        if (!cached) return refreshed
        event.waitUntil(refreshed.catch(() => undefined))
        return cached
      }),
    ),
  )
})
