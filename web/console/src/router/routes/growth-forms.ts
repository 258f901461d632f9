import type { RouteRecordRaw } from 'vue-router'
import { Promotion } from '@element-plus/icons-vue'

// The growth area's smart forms (智能表单): list, editor, a form's submissions. Kept apart from
// growth.ts so the lists change independently; all light the growth menu.
const area = { menu: 'growth', icon: Promotion, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  {
    path: '/growth/forms',
    name: 'growth-forms',
    component: () => import('@/pages/forms/FormsPage.vue'),
    meta: { ...area, titleKey: 'forms.title', menuItem: true, order: 64 },
  },
  {
    path: '/growth/forms/new',
    name: 'growth-form-new',
    component: () => import('@/pages/forms/FormEditorPage.vue'),
    meta: { ...area, titleKey: 'forms.editor.newTitle', scope: 'write' },
  },
  {
    path: '/growth/forms/:id/edit',
    name: 'growth-form-edit',
    component: () => import('@/pages/forms/FormEditorPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'forms.editor.editTitle', scope: 'write' },
  },
  {
    path: '/growth/forms/:id/submissions',
    name: 'growth-form-submissions',
    component: () => import('@/pages/forms/FormSubmissionsPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'forms.subs.title', scope: 'personal_data:read' },
  },
]

export default routes
