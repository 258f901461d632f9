import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  { path: '/staff/login', name: 'staff-login', component: () => import('@/pages/staff/StaffLoginPage.vue'), meta: { titleKey: 'staff.login.title', public: true, area: 'staff' } },
  { path: '/staff/tasks', name: 'staff-tasks', component: () => import('@/pages/staff/TaskCenterPage.vue'), meta: { titleKey: 'staff.tasks.title', area: 'staff' } },
  { path: '/staff/tasks/:taskId', name: 'staff-task', component: () => import('@/pages/staff/TaskPage.vue'), meta: { titleKey: 'staff.task.title', area: 'staff' } },
  { path: '/staff/sidebar', name: 'staff-sidebar', component: () => import('@/pages/staff/SidebarPage.vue'), meta: { titleKey: 'staff.sidebar.title', area: 'staff' } },
]
export default routes
