import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import FissionCampaignPage from '../FissionCampaignPage.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const campaign = {
  id: 'fc00112233445566aa',
  name: '邀请有礼',
  starts_at: '2026-12-01T00:00:00Z',
  ends_at: '2099-12-31T00:00:00Z',
  tiers: [
    { invites: 3, reward: { kind: 'points', points: 100 } },
    { invites: 5, reward: { kind: 'coupon', list_id: 'cl00112233445566' } },
    { invites: 8, reward: { kind: 'coupon', list_id: 'cl99887766554433' } },
  ],
  hold_hours: 24,
  tags: [],
  userids: ['zhangsan'],
  status: 'active',
  version: 1,
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
  figures: { inviters: 4, counted: 9, pending: 2, confirmed: 6, revoked: 1, refused: 3, tiers_paid: [2, 1, 0] },
}

async function visit() {
  useSessionStore().adopt({
    token: 'sess_abc',
    expires_at: '2999-01-01T00:00:00Z',
    member: { userid: 'zhangsan', name: '张三' },
    role: 'operator',
    scopes: ['read', 'write'],
  } as never)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/growth/fission-campaigns', name: 'growth-fissions', component: { template: '<div />' } },
      { path: '/growth/fission-campaigns/:id', name: 'growth-fission', component: FissionCampaignPage, props: true },
    ],
  })
  await router.push(`/growth/fission-campaigns/${campaign.id}`)
  const w = mount({ template: '<router-view />' }, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return w
}

describe('the fission campaign page', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  let lists: () => Response

  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    lists = () =>
      jsonResponse(200, { items: [{ id: 'cl00112233445566', name: '满减券', created_at: campaign.created_at, added: 5, issued: 2, stock: 3 }] })
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname
      if (path === '/v1/growth/coupon-lists') return lists()
      if (path === `/v1/growth/fission-campaigns/${campaign.id}`) return jsonResponse(200, campaign)
      if (path === `/v1/growth/fission-campaigns/${campaign.id}/leaderboard`) return jsonResponse(200, { items: [] })
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  const rows = (w: Awaited<ReturnType<typeof visit>>) => w.findAll('[data-testid="fission-tiers"] tbody tr').map((r) => r.text())

  it('names the coupon list a tier pays from, and shows the id of a list that is gone', async () => {
    const w = await visit()
    const [points, coupon, gone] = rows(w)
    expect(points).toContain('100 积分')
    expect(coupon).toContain('满减券')
    expect(coupon).not.toContain('cl00112233445566')
    expect(gone).toContain('cl99887766554433')
  })

  it('shows the ids when the coupon lists cannot be loaded', async () => {
    lists = () => jsonResponse(500, { error: { code: 'internal', message: 'boom' } })
    const w = await visit()
    expect(w.find('[data-state="error"]').exists()).toBe(false)
    const [, coupon] = rows(w)
    expect(coupon).toContain('cl00112233445566')
    expect(w.find('[data-testid="fission-figure-inviters"]').text()).toContain('4')
  })
})
