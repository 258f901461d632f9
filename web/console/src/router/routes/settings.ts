import type { RouteRecordRaw } from 'vue-router'
import { Setting } from '@element-plus/icons-vue'

const area = { menu: 'settings', icon: Setting } as const

const routes: RouteRecordRaw[] = [
  {
    path: '/settings',
    redirect: '/settings/tenant',
  },
  {
    path: '/settings/tenant',
    name: 'settings-tenant',
    component: () => import('@/pages/settings/TenantSettingsPage.vue'),
    meta: { ...area, titleKey: 'settings.tenant.title', menuItem: true, order: 90, scope: 'read' },
  },
  {
    path: '/settings/members',
    name: 'settings-members',
    component: () => import('@/pages/settings/MembersPage.vue'),
    meta: { ...area, titleKey: 'settings.members.title', menuItem: true, order: 91, scope: 'admin' },
  },
  {
    path: '/settings/keys',
    name: 'settings-keys',
    component: () => import('@/pages/settings/ApiKeysPage.vue'),
    meta: { ...area, titleKey: 'settings.keys.title', menuItem: true, order: 92, scope: 'admin' },
  },
  {
    path: '/settings/callbacks',
    name: 'settings-callbacks',
    component: () => import('@/pages/settings/CallbacksPage.vue'),
    meta: { ...area, titleKey: 'settings.callbacks.title', menuItem: true, order: 93, scope: 'read' },
  },
  {
    path: '/settings/resync',
    name: 'settings-resync',
    component: () => import('@/pages/settings/ResyncPage.vue'),
    meta: { ...area, titleKey: 'settings.resync.title', menuItem: true, order: 94, scope: 'write' },
  },
]

export default routes
