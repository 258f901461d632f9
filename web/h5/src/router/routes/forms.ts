import type { RouteRecordRaw } from 'vue-router'

// A smart form (智能表单) for a customer to fill. Under /c/ like every customer page, so the
// entry link `?corp_id=…&page=forms/<form id>` logs in and lands here; /forms/<form id> is a
// shorter alias for links shared by hand.
const routes: RouteRecordRaw[] = [
  {
    path: '/c/forms/:formId',
    alias: '/forms/:formId',
    name: 'form',
    component: () => import('@/pages/customer/FormPage.vue'),
    props: true,
    meta: { titleKey: 'forms.title', area: 'customer' },
  },
]
export default routes
