import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import AccountsPage from '../AccountsPage.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const row = (id: string, earned: number) => ({
  external_userid: id,
  name: null,
  balance: 10,
  earned,
  spent: 0,
  expired: 0,
  last_check_in: null,
  current_streak: 0,
  longest_streak: 0,
  total_check_ins: 0,
})

const job = (status: 'pending' | 'running' | 'done', shards_done: number) => ({
  job_id: 'rk1',
  tenant: 'ww1',
  status,
  day: '2026-11-30',
  shards_done,
  shards: 16,
  accounts_read: shards_done * 100,
  total_estimate: 1600,
  requested_by: 'zhangsan',
  created_at: '2026-11-30T08:00:00Z',
  updated_at: '2026-11-30T08:00:00Z',
})

async function visit(scopes: string[]) {
  useSessionStore().adopt({
    token: 'sess_abc',
    expires_at: '2999-01-01T00:00:00Z',
    member: { userid: 'zhangsan', name: '张三' },
    role: 'operator',
    scopes,
  } as never)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/points/accounts', component: AccountsPage },
      { path: '/points/rules', name: 'points-rules', component: { template: '<div />' } },
      { path: '/customers/:id', component: { template: '<div />' } },
    ],
  })
  await router.push('/points/accounts')
  const w = mount({ template: '<router-view />' }, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return w
}

describe('the accounts page', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  /** What the fake API answers: a ranking exists once one was asked for and polled done. */
  let ranked = false
  let polls = 0
  const posted: Request[] = []

  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    ranked = false
    polls = 0
    posted.length = 0
    fetchMock.mockImplementation(async (req: Request) => {
      const url = new URL(req.url)
      if (url.pathname === '/v1/points/accounts/rankings' && req.method === 'POST') {
        posted.push(req)
        return jsonResponse(202, { job: job('pending', 0) })
      }
      if (url.pathname === '/v1/points/accounts/rankings') {
        return jsonResponse(200, { ranked: ranked ? { job_id: 'rk1', ranked_at: '2026-11-30T08:00:00Z', day: '2026-11-30', accounts: 2 } : null, building: null })
      }
      if (url.pathname === '/v1/points/accounts/rankings/rk1') {
        polls += 1
        ranked = polls > 1
        return jsonResponse(200, { job: ranked ? job('done', 16) : job('running', 4) })
      }
      if (url.pathname === '/v1/points/accounts') {
        const sort = url.searchParams.get('sort')
        if (sort === 'earned' && !ranked) {
          return jsonResponse(409, { error: { code: 'ranking_not_ready', message: 'no ranking of the accounts yet' } })
        }
        if (sort === 'earned') {
          return jsonResponse(200, { items: [row('wmBig', 90), row('wmSmall', 5)], next_cursor: null, ranked_at: '2026-11-30T08:00:00Z' })
        }
        return jsonResponse(200, { items: [row('wmSmall', 5), row('wmBig', 90)], next_cursor: null })
      }
      return jsonResponse(404, { error: { code: 'not_found', message: url.pathname } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  it('sorts by earned once a ranking is built, following the job and saying when it ranked', async () => {
    const w = await visit(['read', 'write'])
    expect(w.find('[data-testid="ranking-bar"]').exists()).toBe(false)
    w.findComponent({ name: 'ElTable' }).vm.$emit('sort-change', { prop: 'earned', order: 'descending' })
    await flushPromises()
    // No ranking yet: said so, with the button to build one; no error state.
    expect(w.find('[data-testid="not-ranked"]').exists()).toBe(true)
    expect(w.find('[data-state="error"]').exists()).toBe(false)
    const lastList = fetchMock.mock.calls.map((c) => new URL(c[0].url)).filter((u) => u.pathname === '/v1/points/accounts').pop()!
    expect(lastList.searchParams.get('sort')).toBe('earned')
    expect(lastList.searchParams.get('order')).toBe('desc')

    // Asking for one needs a confirmation that says every account is read.
    await w.find('[data-testid="rank-button"]').trigger('click')
    await flushPromises()
    expect(document.body.querySelector('[data-test="confirm-message"]')?.textContent).toContain('读取每一个积分账户')
    expect(posted).toHaveLength(0)
    vi.useFakeTimers()
    ;(document.body.querySelectorAll('[data-test="confirm-proceed"]')[0] as HTMLElement).click()
    await flushPromises()
    expect(posted).toHaveLength(1)
    expect(posted[0].headers.get('Idempotency-Key')).toMatch(/^rank-/)
    // Its progress while it runs, then the list in the ranking's order.
    expect(w.find('[data-testid="ranking-progress"]').text()).toContain('400')
    await vi.advanceTimersByTimeAsync(1000)
    vi.useRealTimers()
    await flushPromises()
    expect(w.find('[data-testid="ranking-progress"]').exists()).toBe(false)
    expect(w.find('[data-testid="ranked-at"]').exists()).toBe(true)
    const rows = w.findAll('[data-testid="accounts-table"] tbody tr')
    expect(rows[0].text()).toContain('wmBig')
    expect(w.find('[data-testid="rank-button"]').text()).toBe('重新排名')
  })

  it('lets a viewer sort by a ranking but not ask for one', async () => {
    ranked = true
    const w = await visit(['read'])
    w.findComponent({ name: 'ElTable' }).vm.$emit('sort-change', { prop: 'earned', order: 'descending' })
    await flushPromises()
    expect(w.find('[data-testid="ranked-at"]').exists()).toBe(true)
    expect(w.find('[data-testid="rank-button"]').attributes('disabled')).toBeDefined()
    expect(w.text()).toContain('需要运营或管理员角色')
  })

  it('shows an error other than a missing ranking as an error', async () => {
    fetchMock.mockImplementation(async () => jsonResponse(503, { error: { code: 'unavailable', message: 'try again' } }))
    const w = await visit(['read', 'write'])
    expect(w.text()).toContain('try again')
  })
})
