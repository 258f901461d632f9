import type { RouteRecordRaw } from 'vue-router'
import { ChatDotRound } from '@element-plus/icons-vue'

const routes: RouteRecordRaw[] = [
  {
    path: '/groups',
    name: 'groups',
    component: () => import('@/pages/groups/GroupListPage.vue'),
    meta: { titleKey: 'groups.title', menu: 'groups', menuItem: true, order: 30, icon: ChatDotRound, scope: 'read' },
  },
  {
    path: '/groups/:chatId',
    name: 'group',
    component: () => import('@/pages/groups/GroupPage.vue'),
    props: true,
    meta: { titleKey: 'groups.detail.title', menu: 'groups', scope: 'read' },
  },
]

export default routes
