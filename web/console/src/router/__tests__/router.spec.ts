import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter, type RouteRecordRaw } from 'vue-router'
import { defineComponent } from 'vue'
import { freshPinia } from '@/test/setup'
import { areaRoutes, buildRoutes, installGuards } from '@/router'
import { buildMenu } from '@/layouts/menu'
import { useSessionStore, type Scope } from '@/stores/session'

const Blank = defineComponent({ template: '<div />' })
const page = (path: string, meta: RouteRecordRaw['meta']): RouteRecordRaw => ({ path, component: Blank, meta })

describe('the side menu', () => {
  const routes = [
    page('/b', { menu: 'b', menuItem: true, order: 20, titleKey: 'b.one', scope: 'read' }),
    page('/a', { menu: 'a', menuItem: true, order: 10, titleKey: 'a.title', scope: 'read' }),
    page('/b/two', { menu: 'b', menuItem: true, order: 21, titleKey: 'b.two', scope: 'admin' }),
    page('/b/:id', { menu: 'b', titleKey: 'b.detail', scope: 'read' }),
  ]

  it('is built from the routes’ meta, in order, one entry per area', () => {
    const menu = buildMenu(routes, () => true)
    expect(menu.map((a) => a.area)).toEqual(['a', 'b'])
    expect(menu[1].items.map((i) => i.path)).toEqual(['/b', '/b/two'])
  })

  it('leaves out what the role cannot open', () => {
    const scopes: Scope[] = ['read']
    const menu = buildMenu(routes, (s) => !s || scopes.includes(s))
    expect(menu[1].items.map((i) => i.path)).toEqual(['/b'])
  })

  it('every area page is lazy-loaded and titled', () => {
    for (const r of areaRoutes.filter((r) => r.component)) {
      expect(typeof r.component, r.path).toBe('function')
      expect(r.meta?.titleKey, r.path).toBeTruthy()
    }
  })
})

describe('the guards', () => {
  beforeEach(() => {
    localStorage.clear()
    freshPinia()
  })

  function router() {
    const r = createRouter({ history: createMemoryHistory(), routes: buildRoutes() })
    installGuards(r)
    return r
  }

  it('send a visitor without a session to the login page, remembering where they were going', async () => {
    const r = router()
    await r.push('/customers')
    expect(r.currentRoute.value.name).toBe('login')
    expect(r.currentRoute.value.query.redirect).toBe('/customers')
  })

  it('show the no-access page for a page the role cannot open', async () => {
    useSessionStore().adopt({ token: 't', expires_at: '2999-01-01T00:00:00Z', role: 'viewer', scopes: ['read'] })
    const r = router()
    await r.push('/settings/keys')
    expect(r.currentRoute.value.name).toBe('no-access')
    await r.push('/customers')
    expect(r.currentRoute.value.name).toBe('customers')
  })

  it('treat an expired session as none and say so on the login page', async () => {
    const session = useSessionStore()
    session.adopt({ token: 't', expires_at: '2000-01-01T00:00:00Z', role: 'admin', scopes: ['admin'] })
    const r = router()
    await r.push('/dashboard')
    expect(r.currentRoute.value.name).toBe('login')
    expect(session.endedReason).toBe('login.expired')
    expect(session.token).toBeNull()
  })
})
