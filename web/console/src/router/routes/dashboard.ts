import type { RouteRecordRaw } from 'vue-router'
import { DataLine } from '@element-plus/icons-vue'
import { prefetchDashboard } from '@/pages/dashboard/prefetch'
import { loadChartLibrary } from '@/charts/load'

const routes: RouteRecordRaw[] = [
  {
    path: '/dashboard',
    name: 'dashboard',
    component: () => import('@/pages/dashboard/DashboardPage.vue'),
    // After the session and scope checks, before the page's chunk loads: its data is on the way
    // while the chunk and the chart library download (the library would otherwise be asked
    // for only once the page has drawn its figures and its charts come into view).
    beforeEnter: () => {
      prefetchDashboard()
      loadChartLibrary().catch(() => undefined)
    },
    meta: { titleKey: 'dashboard.title', menu: 'dashboard', menuItem: true, order: 10, icon: DataLine, scope: 'read' },
  },
]

export default routes
