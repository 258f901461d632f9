import type { RouteRecordRaw } from 'vue-router'
import { Promotion } from '@element-plus/icons-vue'

// The growth area's fission campaigns (任务宝 / 邀请有礼): list, create, edit, a campaign's
// figures, and the coupon lists coupon tiers pay from.
// Kept apart from growth.ts so the two lists change independently; both light the growth menu.
const area = { menu: 'growth', icon: Promotion, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  {
    path: '/growth/fission-campaigns',
    name: 'growth-fissions',
    component: () => import('@/pages/growth/FissionCampaignsPage.vue'),
    meta: { ...area, titleKey: 'fission.title', menuItem: true, order: 63 },
  },
  {
    path: '/growth/fission-campaigns/new',
    name: 'growth-fission-new',
    component: () => import('@/pages/growth/FissionCampaignEditorPage.vue'),
    meta: { ...area, titleKey: 'fission.editor.newTitle', scope: 'write' },
  },
  {
    path: '/growth/fission-campaigns/:id/edit',
    name: 'growth-fission-edit',
    component: () => import('@/pages/growth/FissionCampaignEditorPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'fission.editor.editTitle', scope: 'write' },
  },
  {
    path: '/growth/coupon-lists',
    name: 'growth-coupon-lists',
    component: () => import('@/pages/growth/CouponListsPage.vue'),
    meta: { ...area, titleKey: 'fission.coupons.title' },
  },
  {
    path: '/growth/fission-campaigns/:id',
    name: 'growth-fission',
    component: () => import('@/pages/growth/FissionCampaignPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'fission.page.title' },
  },
]

export default routes
