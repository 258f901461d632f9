import type { Component } from 'vue'
import type { RouteRecordRaw } from 'vue-router'
import type { Scope } from '@/stores/session'

export interface MenuItem {
  path: string
  titleKey: string
  order: number
}
export interface MenuArea {
  area: string
  icon?: Component
  order: number
  items: MenuItem[]
}

/**
 * The side menu, from the routes' meta: one entry per area, a submenu when the area has several
 * pages. Pages the caller's scopes do not reach are left out.
 */
export function buildMenu(routes: RouteRecordRaw[], can: (scope?: Scope) => boolean): MenuArea[] {
  const areas = new Map<string, MenuArea>()
  for (const r of routes) {
    const m = r.meta
    if (!m?.menu || !m.menuItem || !m.titleKey || !can(m.scope)) continue
    const order = m.order ?? 1000
    let area = areas.get(m.menu)
    if (!area) {
      area = { area: m.menu, icon: m.icon, order, items: [] }
      areas.set(m.menu, area)
    }
    area.order = Math.min(area.order, order)
    area.icon ??= m.icon
    area.items.push({ path: r.path, titleKey: m.titleKey, order })
  }
  const list = [...areas.values()].sort((a, b) => a.order - b.order)
  for (const a of list) a.items.sort((x, y) => x.order - y.order)
  return list
}
