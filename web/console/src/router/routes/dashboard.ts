import type { RouteRecordRaw } from 'vue-router'
import { DataLine } from '@element-plus/icons-vue'

const routes: RouteRecordRaw[] = [
  {
    path: '/dashboard',
    name: 'dashboard',
    component: () => import('@/pages/dashboard/DashboardPage.vue'),
    meta: { titleKey: 'dashboard.title', menu: 'dashboard', menuItem: true, order: 10, icon: DataLine, scope: 'read' },
  },
]

export default routes
