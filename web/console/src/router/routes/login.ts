import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/pages/login/LoginPage.vue'),
    meta: { public: true, titleKey: 'login.title' },
  },
  {
    path: '/login/callback',
    name: 'login-callback',
    component: () => import('@/pages/login/LoginCallbackPage.vue'),
    meta: { public: true, titleKey: 'login.callback.title' },
  },
]

export default routes
