import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import DashboardPage from '../DashboardPage.vue'
import { isEmpty, yesterday, type Dashboard, type DashboardDay } from '../dashboardModel'

function day(date: string, over: Partial<DashboardDay> = {}): DashboardDay {
  return {
    date,
    contacts_added: 0,
    customers_added: 0,
    customers_lost: 0,
    members_joined: 0,
    members_left: 0,
    check_ins: 0,
    points_issued: 0,
    points_spent: 0,
    points_expired: 0,
    points_removed: 0,
    sop_occurrences: 0,
    sop_tasks: 0,
    sop_tasks_done: 0,
    sop_tasks_failed: 0,
    sop_tasks_pending: 0,
    ...over,
  }
}

function board(series: DashboardDay[], groups = 3, customers = 120): Dashboard {
  const window = series.reduce((sum, d) => {
    const out = { ...sum }
    for (const k of Object.keys(d) as (keyof DashboardDay)[]) if (k !== 'date') (out[k] as number) += d[k] as number
    return out
  }, day(''))
  return { date: series[series.length - 1].date, timezone: 'Asia/Shanghai', customers, groups, today: series[series.length - 1], window, series, sop_truncated: false }
}

const EChartStub = { props: ['option', 'label', 'table'], template: '<div class="chart-stub" :data-label="label" :data-rows="table?.rows.length" />' }

describe('the dashboard', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  beforeEach(() => {
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
  })

  it('shows today against yesterday and one chart per area over the 30 days', async () => {
    const series = Array.from({ length: 30 }, (_, i) => day(`2026-11-${String(i + 1).padStart(2, '0')}`, { check_ins: i }))
    series[28] = { ...series[28], contacts_added: 4 }
    series[29] = { ...series[29], contacts_added: 7 }
    fetchMock.mockResolvedValue(new Response(JSON.stringify(board(series)), { status: 200, headers: { 'Content-Type': 'application/json' } }))
    const w = mount(DashboardPage, { global: { stubs: { EChart: EChartStub } } })
    await flushPromises()
    expect(new URL(fetchMock.mock.calls[0][0].url).searchParams.get('days')).toBe('30')
    const added = w.find('[data-figure="contactsAdded"]')
    expect(added.text()).toContain('7')
    expect(added.text()).toContain('4')
    expect(added.find('.stat-card__delta--good').text()).toContain('3')
    const charts = w.findAll('.chart-stub')
    expect(charts).toHaveLength(4)
    expect(charts.every((c) => c.attributes('data-rows') === '30')).toBe(true)
  })

  it('shows the customers now, gained and lost today, and charts them by day', async () => {
    const series = Array.from({ length: 7 }, (_, i) => day(`2026-11-${String(i + 24).padStart(2, '0')}`))
    series[5] = { ...series[5], customers_added: 5, customers_lost: 1 }
    series[6] = { ...series[6], customers_added: 2, customers_lost: 3 }
    fetchMock.mockResolvedValue(new Response(JSON.stringify(board(series, 3, 1234)), { status: 200, headers: { 'Content-Type': 'application/json' } }))
    const w = mount(DashboardPage, { global: { stubs: { EChart: { props: ['option', 'label', 'table'], template: '<div class="chart-stub" :data-label="label" :data-table="JSON.stringify(table)" />' } } } })
    await flushPromises()
    expect(w.find('[data-figure="customersNow"]').text()).toMatch(/1,?234/)
    const added = w.find('[data-figure="customersAdded"]')
    expect(added.text()).toContain('2')
    expect(added.find('.stat-card__delta--bad').exists()).toBe(true)
    // Customers lost rising is bad news.
    expect(w.find('[data-figure="customersLost"] .stat-card__delta--bad').text()).toContain('2')
    const customers = JSON.parse(w.findAll('.chart-stub')[0].attributes('data-table') ?? '{}')
    expect(customers.columns.slice(1, 3)).toEqual(['新增客户', '流失客户'])
    expect(customers.rows[6].slice(1, 3)).toEqual([2, 3])
  })

  it('shows the API message when it cannot load', async () => {
    fetchMock.mockResolvedValue(new Response(JSON.stringify({ error: { code: 'forbidden', message: 'this key lacks the scope read' } }), { status: 403 }))
    const w = mount(DashboardPage, { global: { stubs: { EChart: EChartStub } } })
    await flushPromises()
    expect(w.find('[data-state="error"]').text()).toContain('this key lacks the scope read')
  })

  it('a new tenant sees what to do first, not empty charts', () => {
    const quiet = board([day('2026-11-29'), day('2026-11-30')], 0, 0)
    expect(isEmpty(quiet)).toBe(true)
    expect(yesterday(quiet)?.date).toBe('2026-11-29')
    expect(yesterday(board([day('2026-11-30')]))).toBeNull()
  })
})
