import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  { path: '/c/login', name: 'customer-login', component: () => import('@/pages/customer/CustomerLoginPage.vue'), meta: { titleKey: 'customer.login.title', public: true, area: 'customer' } },
  { path: '/c/check-in', name: 'check-in', component: () => import('@/pages/customer/CheckInPage.vue'), meta: { titleKey: 'customer.checkIn.title', area: 'customer' } },
  { path: '/c/points', name: 'points', component: () => import('@/pages/customer/PointsPage.vue'), meta: { titleKey: 'customer.points.title', area: 'customer' } },
  { path: '/c/rewards', name: 'rewards', component: () => import('@/pages/customer/RewardsPage.vue'), meta: { titleKey: 'customer.rewards.title', area: 'customer' } },
  { path: '/c/me', name: 'me', component: () => import('@/pages/customer/MePage.vue'), meta: { titleKey: 'customer.me.title', area: 'customer' } },
]
export default routes
