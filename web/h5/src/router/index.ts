import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { useStaffSession } from '@/stores/staffSession'
import { useCustomerSession } from '@/stores/customerSession'

declare module 'vue-router' {
  interface RouteMeta {
    titleKey?: string
    /** Reachable without a session (the login pages). */
    public?: boolean
    /** Whose session the page needs. */
    area?: 'staff' | 'customer'
  }
}

const areaModules = import.meta.glob<{ default: RouteRecordRaw[] }>('./routes/*.ts', { eager: true })

export function areaRoutes(): RouteRecordRaw[] {
  return Object.keys(areaModules)
    .sort()
    .flatMap((file) => areaModules[file].default)
}

export function createH5Router() {
  const router = createRouter({
    // Hash routing: WeCom's JS-SDK signs the URL before `#`, which stays the landing URL
    // (what iOS signs) whatever page the staff member moves to.
    history: createWebHashHistory(),
    routes: [
      { path: '/', name: 'home', component: () => import('@/pages/system/HomePage.vue'), meta: { public: true } },
      ...areaRoutes(),
      { path: '/:rest(.*)*', name: 'not-found', component: () => import('@/pages/system/NotFoundPage.vue'), meta: { public: true } },
    ],
    scrollBehavior: () => ({ top: 0 }),
  })

  router.beforeEach((to) => {
    if (to.meta.public) return true
    if (to.meta.area === 'staff' && !useStaffSession().loggedIn) {
      return { name: 'staff-login', query: { redirect: to.fullPath } }
    }
    if (to.meta.area === 'customer' && !useCustomerSession().loggedIn) {
      return { name: 'customer-login', query: { next: to.fullPath } }
    }
    return true
  })
  return router
}
