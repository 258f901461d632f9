import type { RouteRecordRaw } from 'vue-router'

// A fission campaign's page (邀请有礼) for the customer who invites. Under /c/ like every
// customer page, so the entry link `?corp_id=…&page=fission/<campaign id>` logs in and lands
// here; /fission/<campaign id> is kept as a shorter alias for links shared by hand.
const routes: RouteRecordRaw[] = [
  {
    path: '/c/fission/:campaignId',
    alias: '/fission/:campaignId',
    name: 'fission',
    component: () => import('@/pages/customer/FissionPage.vue'),
    props: true,
    meta: { titleKey: 'fission.title', area: 'customer' },
  },
]
export default routes
