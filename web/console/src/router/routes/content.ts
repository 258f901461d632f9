import type { RouteRecordRaw } from 'vue-router'
import { Files } from '@element-plus/icons-vue'

// The content center (内容中心): the material library plans refer to.
const routes: RouteRecordRaw[] = [
  {
    path: '/content/materials',
    name: 'content-materials',
    component: () => import('@/pages/content/MaterialsPage.vue'),
    meta: { menu: 'content', icon: Files, scope: 'read', titleKey: 'content.title', menuItem: true, order: 58 },
  },
]

export default routes
