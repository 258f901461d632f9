import type { RouteRecordRaw } from 'vue-router'
import { Promotion } from '@element-plus/icons-vue'

// The growth area: channel codes and group codes (list, editor, a code's QR code and
// figures) and the tenant's default welcome. Each page is its own chunk.
const area = { menu: 'growth', icon: Promotion, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  { path: '/growth', name: 'growth', redirect: { name: 'growth-codes' } },
  {
    path: '/growth/channel-codes',
    name: 'growth-codes',
    component: () => import('@/pages/growth/ChannelCodesPage.vue'),
    meta: { ...area, titleKey: 'growth.codes.title', menuItem: true, order: 60 },
  },
  {
    path: '/growth/welcome',
    name: 'growth-welcome',
    component: () => import('@/pages/growth/DefaultWelcomePage.vue'),
    meta: { ...area, titleKey: 'growth.defaultWelcome.title', menuItem: true, order: 61 },
  },
  {
    path: '/growth/group-codes',
    name: 'growth-group-codes',
    component: () => import('@/pages/growth/GroupCodesPage.vue'),
    meta: { ...area, titleKey: 'growth.groupCodes.title', menuItem: true, order: 62 },
  },
  {
    path: '/growth/group-codes/new',
    name: 'growth-group-code-new',
    component: () => import('@/pages/growth/GroupCodeEditorPage.vue'),
    meta: { ...area, titleKey: 'growth.groupEditor.newTitle', scope: 'write' },
  },
  {
    path: '/growth/group-codes/:state/edit',
    name: 'growth-group-code-edit',
    component: () => import('@/pages/growth/GroupCodeEditorPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'growth.groupEditor.editTitle', scope: 'write' },
  },
  {
    path: '/growth/group-codes/:state',
    name: 'growth-group-code',
    component: () => import('@/pages/growth/GroupCodePage.vue'),
    props: true,
    meta: { ...area, titleKey: 'growth.groupFigures.title' },
  },
  {
    path: '/growth/channel-codes/new',
    name: 'growth-code-new',
    component: () => import('@/pages/growth/ChannelCodeEditorPage.vue'),
    meta: { ...area, titleKey: 'growth.editor.newTitle', scope: 'write' },
  },
  {
    path: '/growth/channel-codes/:state/edit',
    name: 'growth-code-edit',
    component: () => import('@/pages/growth/ChannelCodeEditorPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'growth.editor.editTitle', scope: 'write' },
  },
  {
    path: '/growth/channel-codes/:state',
    name: 'growth-code',
    component: () => import('@/pages/growth/ChannelCodePage.vue'),
    props: true,
    meta: { ...area, titleKey: 'growth.figures.title' },
  },
]

export default routes
