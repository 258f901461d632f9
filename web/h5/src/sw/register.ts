// Registers the service worker (sw.js, built next to index.html) once the page has drawn, so
// it never competes with the first visit's own downloads. Production builds only (the dev
// server has no sw.js and must never serve a cached page). Where service workers do not
// exist or are refused — WeChat's and WeCom's in-app browsers on iOS, private modes, tests
// that block them — nothing happens: the pages work the same, from the network.
export function registerServiceWorker(nav: Navigator = navigator, win: Window = window): void {
  if (!import.meta.env.PROD || !('serviceWorker' in nav)) return
  const register = () => {
    // Relative to index.html: the worker's scope is the folder the pages are served from
    // (`/` locally, `/h5/` when deployed), never the rest of the origin.
    nav.serviceWorker.register('./sw.js', { scope: './' }).catch(() => undefined)
  }
  if (win.document.readyState === 'complete') register()
  else win.addEventListener('load', register, { once: true })
}
