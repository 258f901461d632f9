import type { RouteRecordRaw } from 'vue-router'
// The check-in page is where customers land, daily, often on a slow mobile network: it is
// part of the initial bundle (a few KB) rather than a chunk fetched after the app started,
// which would cost one more round trip before it shows (scripts/bench-web.sh measures it).
import CheckInPage from '@/pages/customer/CheckInPage.vue'

const routes: RouteRecordRaw[] = [
  { path: '/c/login', name: 'customer-login', component: () => import('@/pages/customer/CustomerLoginPage.vue'), meta: { titleKey: 'customer.login.title', public: true, area: 'customer' } },
  { path: '/c/check-in', name: 'check-in', component: CheckInPage, meta: { titleKey: 'customer.checkIn.title', area: 'customer' } },
  { path: '/c/points', name: 'points', component: () => import('@/pages/customer/PointsPage.vue'), meta: { titleKey: 'customer.points.title', area: 'customer' } },
  { path: '/c/rewards', name: 'rewards', component: () => import('@/pages/customer/RewardsPage.vue'), meta: { titleKey: 'customer.rewards.title', area: 'customer' } },
  { path: '/c/me', name: 'me', component: () => import('@/pages/customer/MePage.vue'), meta: { titleKey: 'customer.me.title', area: 'customer' } },
]
export default routes
