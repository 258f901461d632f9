import type { RouteRecordRaw } from 'vue-router'
import { Promotion } from '@element-plus/icons-vue'

// The growth area's tracked links (链接追踪): the list with click counts and the create
// dialog, and one link's short URLs and figures. Kept apart from growth.ts so the lists change independently; lights the growth menu.
const area = { menu: 'growth', icon: Promotion, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  {
    path: '/growth/links',
    name: 'growth-links',
    component: () => import('@/pages/links/LinksPage.vue'),
    meta: { ...area, titleKey: 'links.title', menuItem: true, order: 65 },
  },
  {
    path: '/growth/links/:id',
    name: 'growth-link',
    component: () => import('@/pages/links/LinkPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'links.detail.title' },
  },
]

export default routes
