import type { RouteRecordRaw } from 'vue-router'
import { Calendar } from '@element-plus/icons-vue'

// The SOP area: plans (list, editor, a plan's occurrences and figures), templates and the
// calendar. Each page is its own chunk.
const area = { menu: 'sop', icon: Calendar, scope: 'read' as const }

const routes: RouteRecordRaw[] = [
  { path: '/sop', name: 'sop', redirect: { name: 'sop-plans' } },
  {
    path: '/sop/plans',
    name: 'sop-plans',
    component: () => import('@/pages/sop/PlansPage.vue'),
    meta: { ...area, titleKey: 'sop.plans.title', menuItem: true, order: 50 },
  },
  {
    path: '/sop/calendar',
    name: 'sop-calendar',
    component: () => import('@/pages/sop/CalendarPage.vue'),
    meta: { ...area, titleKey: 'sop.calendar.title', menuItem: true, order: 51 },
  },
  {
    path: '/sop/templates',
    name: 'sop-templates',
    component: () => import('@/pages/sop/TemplatesPage.vue'),
    meta: { ...area, titleKey: 'sop.templates.title', menuItem: true, order: 52 },
  },
  {
    path: '/sop/plans/new',
    name: 'sop-plan-new',
    component: () => import('@/pages/sop/PlanEditorPage.vue'),
    meta: { ...area, titleKey: 'sop.editor.newTitle', scope: 'write' },
  },
  {
    path: '/sop/plans/:id/edit',
    name: 'sop-plan-edit',
    component: () => import('@/pages/sop/PlanEditorPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'sop.editor.editTitle', scope: 'write' },
  },
  {
    path: '/sop/plans/:id',
    name: 'sop-plan',
    component: () => import('@/pages/sop/PlanPage.vue'),
    props: true,
    meta: { ...area, titleKey: 'sop.plan.title' },
  },
  {
    path: '/sop/plans/:id/occurrences/:occ',
    name: 'sop-occurrence',
    component: () => import('@/pages/sop/OccurrencePage.vue'),
    props: true,
    meta: { ...area, titleKey: 'sop.occurrence.pageTitle' },
  },
]

export default routes
