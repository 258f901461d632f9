import type { RouteRecordRaw } from 'vue-router'
import { User } from '@element-plus/icons-vue'

const routes: RouteRecordRaw[] = [
  {
    path: '/customers',
    name: 'customers',
    component: () => import('@/pages/customers/CustomerListPage.vue'),
    meta: { titleKey: 'customers.title', menu: 'customers', menuItem: true, order: 20, icon: User, scope: 'read' },
  },
  {
    path: '/customers/:id',
    name: 'customer',
    component: () => import('@/pages/customers/CustomerPage.vue'),
    props: true,
    meta: { titleKey: 'customers.detail.title', menu: 'customers', scope: 'read' },
  },
]

export default routes
