import { describe, expect, it } from 'vitest'
import { cacheName, isStaleCache, routeRequest } from '../routing'

describe('the service worker routing', () => {
  for (const scope of ['https://m.example.com/h5/', 'http://127.0.0.1:4174/']) {
    describe(`scoped to ${scope}`, () => {
      const at = (path: string) => new URL(path, scope).href

      it('serves the hashed assets cache-first', () => {
        expect(routeRequest('GET', at('assets/index-C7ta7gVT.js'), scope)).toEqual({
          kind: 'asset',
          key: at('assets/index-C7ta7gVT.js'),
        })
      })

      it('keeps index.html (and the folder itself, as index.html) and config.json fresh in the background', () => {
        expect(routeRequest('GET', at('index.html'), scope)).toEqual({ kind: 'shell', key: at('index.html') })
        expect(routeRequest('GET', scope, scope)).toEqual({ kind: 'shell', key: at('index.html') })
        expect(routeRequest('GET', at('config.json'), scope)).toEqual({ kind: 'shell', key: at('config.json') })
      })

      it('never answers nor keeps an API call, a write or another file', () => {
        for (const path of [
          'customer-api/v1/me/check-ins',
          'staff-api/v1/tasks',
          'sw.js',
          'assets/nested/x.js',
          'favicon.ico',
        ]) {
          expect(routeRequest('GET', at(path), scope)).toEqual({ kind: 'network' })
        }
        expect(routeRequest('POST', at('index.html'), scope)).toEqual({ kind: 'network' })
        expect(routeRequest('HEAD', at('assets/index-C7ta7gVT.js'), scope)).toEqual({ kind: 'network' })
      })

      it('never keeps a URL with a query: OAuth codes, reminder tokens', () => {
        expect(routeRequest('GET', at('?code=abc&state=xyz'), scope)).toEqual({ kind: 'network' })
        expect(routeRequest('GET', at('index.html?token=secret'), scope)).toEqual({ kind: 'network' })
        expect(routeRequest('GET', at('assets/index-C7ta7gVT.js?v=1'), scope)).toEqual({ kind: 'network' })
        expect(routeRequest('GET', at('config.json?t=1'), scope)).toEqual({ kind: 'network' })
      })

      it('leaves other origins alone (the deployed APIs, WeChat, WeCom)', () => {
        expect(routeRequest('GET', 'https://api.example.com/customer-api/v1/me', scope)).toEqual({ kind: 'network' })
        expect(routeRequest('GET', 'https://open.weixin.qq.com/connect/oauth2/authorize', scope)).toEqual({
          kind: 'network',
        })
      })
    })
  }

  it('leaves the rest of the origin (the console at /) to the network when scoped to /h5/', () => {
    const scope = 'https://m.example.com/h5/'
    expect(routeRequest('GET', 'https://m.example.com/index.html', scope)).toEqual({ kind: 'network' })
    expect(routeRequest('GET', 'https://m.example.com/assets/index-abc.js', scope)).toEqual({ kind: 'network' })
    expect(routeRequest('GET', 'https://m.example.com/h5x/assets/a.js', scope)).toEqual({ kind: 'network' })
  })

  it('keeps one cache per build and drops the others of this app only', () => {
    expect(cacheName('abc')).toBe('scrm-h5-abc')
    expect(isStaleCache('scrm-h5-old', 'abc')).toBe(true)
    expect(isStaleCache('scrm-h5-abc', 'abc')).toBe(false)
    expect(isStaleCache('someone-else', 'abc')).toBe(false)
  })
})
