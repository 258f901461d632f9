import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import type { Component } from 'vue'
import type { Scope } from '@/stores/session'
import { useSessionStore } from '@/stores/session'

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title (also the menu item's label). */
    titleKey?: string
    /** The menu area the page belongs to (`dashboard`, `customers`, `points`...). */
    menu?: string
    /** Shown in the side menu when set (detail pages leave it out and still light their area). */
    menuItem?: boolean
    /** Order within the menu, lower first. */
    order?: number
    /** An icon component of @element-plus/icons-vue. */
    icon?: Component
    /** The scope the page needs; without it the guard shows the no-access page. */
    scope?: Scope
    /** Reachable without a session (login pages). */
    public?: boolean
  }
}

// Each area's routes live in its own file, so engineers of different areas never edit the same
// list; they are merged here in file-name order.
const areaModules = import.meta.glob<{ default: RouteRecordRaw[] }>('./routes/*.ts', { eager: true })
export const areaRoutes: RouteRecordRaw[] = Object.keys(areaModules)
  .sort()
  .flatMap((file) => areaModules[file].default)

export function buildRoutes(areas: RouteRecordRaw[] = areaRoutes): RouteRecordRaw[] {
  const publicRoutes = areas.filter((r) => r.meta?.public)
  const consoleRoutes = areas.filter((r) => !r.meta?.public)
  return [
    ...publicRoutes,
    {
      path: '/',
      component: () => import('@/layouts/ConsoleLayout.vue'),
      redirect: '/dashboard',
      children: [
        ...consoleRoutes,
        {
          path: '/no-access',
          name: 'no-access',
          component: () => import('@/pages/system/NoAccessPage.vue'),
          meta: { titleKey: 'system.noAccess.title' },
        },
        {
          path: '/:pathMatch(.*)*',
          name: 'not-found',
          component: () => import('@/pages/system/NotFoundPage.vue'),
          meta: { titleKey: 'system.notFound.title' },
        },
      ],
    },
  ]
}

/** Not logged in → /login (remembering where to go back); missing scope → no-access. */
export function installGuards(router: Router): void {
  router.beforeEach((to) => {
    if (to.meta.public) return true
    const session = useSessionStore()
    if (!session.isActive()) {
      if (session.token) session.clear('login.expired')
      return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
    }
    const missing = to.matched.find((r) => r.meta.scope && !session.can(r.meta.scope))
    if (missing) return { name: 'no-access', query: { from: to.fullPath, scope: missing.meta.scope } }
    return true
  })
}

export function createConsoleRouter(history = createWebHistory(import.meta.env.BASE_URL)): Router {
  const router = createRouter({ history, routes: buildRoutes() })
  installGuards(router)
  return router
}
