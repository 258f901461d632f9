import type { RouteRecordRaw } from 'vue-router'
import { DataLine } from '@element-plus/icons-vue'
import { prefetchDashboard } from '@/pages/dashboard/prefetch'

const routes: RouteRecordRaw[] = [
  {
    path: '/dashboard',
    name: 'dashboard',
    component: () => import('@/pages/dashboard/DashboardPage.vue'),
    // After the session and scope checks, before the page's chunk loads: its data is on the way
    // while the chunk and the chart library download.
    beforeEnter: () => {
      prefetchDashboard()
    },
    meta: { titleKey: 'dashboard.title', menu: 'dashboard', menuItem: true, order: 10, icon: DataLine, scope: 'read' },
  },
]

export default routes
