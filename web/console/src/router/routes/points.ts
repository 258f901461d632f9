import type { RouteRecordRaw } from 'vue-router'
import { Coin } from '@element-plus/icons-vue'

// The points area: accounts, operations (bulk, group awards, imports), jobs, rewards, flows
// and check-in rates, and the earning rules. Each page is its own chunk.
const area = { menu: 'points', icon: Coin, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  { path: '/points', name: 'points', redirect: { name: 'points-accounts' } },
  {
    path: '/points/accounts',
    name: 'points-accounts',
    component: () => import('@/pages/points/AccountsPage.vue'),
    meta: { ...area, titleKey: 'points.accounts.title', menuItem: true, order: 40 },
  },
  {
    path: '/points/operations',
    name: 'points-operations',
    component: () => import('@/pages/points/OperationsPage.vue'),
    meta: { ...area, titleKey: 'points.ops.title', menuItem: true, order: 41 },
  },
  {
    path: '/points/jobs',
    name: 'points-jobs',
    component: () => import('@/pages/points/JobsPage.vue'),
    meta: { ...area, titleKey: 'points.jobs.title', menuItem: true, order: 42 },
  },
  {
    path: '/points/jobs/:id',
    name: 'points-job',
    component: () => import('@/pages/points/JobPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'points.jobs.title' },
  },
  {
    path: '/points/rewards',
    name: 'points-rewards',
    component: () => import('@/pages/points/RewardsPage.vue'),
    meta: { ...area, titleKey: 'points.rewards.title', menuItem: true, order: 43 },
  },
  {
    path: '/points/stats',
    name: 'points-stats',
    component: () => import('@/pages/points/StatsPage.vue'),
    meta: { ...area, titleKey: 'points.stats.title', menuItem: true, order: 44 },
  },
  {
    path: '/points/rules',
    name: 'points-rules',
    component: () => import('@/pages/points/RulesPage.vue'),
    meta: { ...area, titleKey: 'points.rules.title', menuItem: true, order: 45 },
  },
]

export default routes
