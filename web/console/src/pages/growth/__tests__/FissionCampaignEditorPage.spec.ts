import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import FissionCampaignEditorPage from '../FissionCampaignEditorPage.vue'
import FissionCampaignPage from '../FissionCampaignPage.vue'
import TagInput from '../../sop/components/TagInput.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const created = {
  id: 'fc00112233445566aa',
  name: '邀请有礼',
  starts_at: '2026-12-01T00:00:00Z',
  ends_at: '2099-12-31T00:00:00Z',
  tiers: [
    { invites: 3, reward: { kind: 'points', points: 100 } },
    { invites: 10, reward: { kind: 'reward', reward_id: 'rw1' } },
  ],
  hold_hours: 24,
  tags: [],
  userids: ['zhangsan'],
  poster: {
    background_url: 'https://cdn.example.com/bg.png',
    width: 750,
    height: 1334,
    name: { x: 150, y: 1190, size: 32, color: '#333333' },
    avatar: { x: 40, y: 1130, size: 96 },
    qr: { x: 490, y: 1074, size: 220 },
  },
  status: 'active',
  version: 1,
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
  figures: { inviters: 4, counted: 9, pending: 2, confirmed: 6, revoked: 1, refused: 3, tiers_paid: [2, 0] },
}

async function visit(path: string) {
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
      { path: '/growth/fission-campaigns', name: 'growth-fissions', component: { template: '<div data-test="list" />' } },
      { path: '/growth/fission-campaigns/new', component: FissionCampaignEditorPage },
      { path: '/growth/fission-campaigns/:id/edit', component: FissionCampaignEditorPage, props: true },
      { path: '/growth/fission-campaigns/:id', name: 'growth-fission', component: FissionCampaignPage, props: true },
    ],
  })
  await router.push(path)
  const w = mount({ template: '<router-view />' }, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { w, router }
}

describe('the fission campaign editor', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  const sent: { method: string; path: string; headers: Headers; body: unknown }[] = []
  let creates: Response[] = []
  let edits: Response[] = []
  let campaign: typeof created = created

  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    sent.length = 0
    creates = []
    edits = []
    campaign = created
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname
      const body = req.method === 'GET' ? undefined : await req.clone().text().then((t) => (t ? JSON.parse(t) : undefined))
      sent.push({ method: req.method, path, headers: req.headers, body })
      if (path === '/v1/tags') return jsonResponse(200, { tag_groups: [] })
      if (path === '/v1/points/rewards') return jsonResponse(200, { rewards: [{ reward_id: 'rw1', name: '保温杯', cost: 100, stock: 5, redeemed: 0, active: true }] })
      if (req.method === 'POST' && path === '/v1/growth/fission-campaigns') return creates.shift() ?? jsonResponse(201, created)
      if (path === '/v1/growth/coupon-lists') return jsonResponse(200, { items: [{ id: 'cl00112233445566', name: '满减券', created_at: created.created_at, added: 5, issued: 2, stock: 3 }] })
      if (req.method === 'PUT' && path === `/v1/growth/fission-campaigns/${created.id}`) return edits.shift() ?? jsonResponse(200, { ...created, name: (body as { name: string }).name, version: 2 })
      if (req.method === 'GET' && path === `/v1/growth/fission-campaigns/${created.id}`) return jsonResponse(200, campaign)
      if (req.method === 'GET' && path === `/v1/growth/fission-campaigns/${created.id}/leaderboard`) return jsonResponse(200, { items: [] })
      if (req.method === 'POST' && path === `/v1/growth/fission-campaigns/${created.id}/end`) {
        campaign = { ...created, status: 'ended' }
        return jsonResponse(200, campaign)
      }
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  const item = (w: Awaited<ReturnType<typeof visit>>['w'], testid: string) => w.find(`[data-testid="${testid}"]`).element.closest('.el-form-item')

  it('shows every problem and sends nothing while the form is wrong', async () => {
    const { w } = await visit('/growth/fission-campaigns/new')
    // A second tier asking for fewer invites than the first, and the QR code off the canvas.
    await w.find('[data-testid="fission-add-tier"]').trigger('click')
    const invites = w.findAll('[data-testid="fission-tier-invites"] input')
    await invites[1].setValue('2')
    await invites[1].trigger('change')
    await w.find('[data-testid="fission-qr-x"] input').setValue('700')
    await w.find('[data-testid="fission-qr-x"] input').trigger('change')
    await w.find('form').trigger('submit')
    await flushPromises()

    expect(w.find('[data-testid="fission-fix-problems"]').exists()).toBe(true)
    expect(item(w, 'fission-name')?.classList.contains('is-error')).toBe(true)
    expect(item(w, 'fission-background')?.classList.contains('is-error')).toBe(true)
    expect(item(w, 'fission-userids')?.classList.contains('is-error')).toBe(true)
    const tierItems = w.findAll('[data-testid="fission-tier-invites"]').map((x) => x.element.closest('.el-form-item'))
    expect(tierItems.map((x) => x?.classList.contains('is-error'))).toEqual([false, true])
    expect(tierItems[1]?.getAttribute('class')).toContain('is-error')
    expect(item(w, 'fission-qr-x')?.classList.contains('is-error')).toBe(true)
    expect(item(w, 'fission-avatar-x')?.classList.contains('is-error')).toBe(false)
    // The preview marks the QR code that left the canvas.
    expect(w.find('[data-testid="fission-poster-qr"]').attributes('data-bad')).toBe('true')
    expect(sent.some((r) => r.method === 'POST')).toBe(false)
  })

  it('draws the poster preview from the template as it is typed', async () => {
    const { w } = await visit('/growth/fission-campaigns/new')
    const svg = w.find('[data-testid="fission-poster-preview"]')
    expect(svg.attributes('viewBox')).toBe('0 0 750 1334')
    expect(w.find('[data-testid="fission-poster-background"]').exists()).toBe(false)
    await w.find('[data-testid="fission-background"]').setValue('https://cdn.example.com/bg.png')
    await w.find('[data-testid="fission-name-x"] input').setValue('200')
    await w.find('[data-testid="fission-name-x"] input').trigger('change')
    await flushPromises()
    expect(w.find('[data-testid="fission-poster-background"]').attributes('href')).toBe('https://cdn.example.com/bg.png')
    expect(w.find('[data-testid="fission-poster-name"]').attributes('x')).toBe('200')
    expect(w.find('[data-testid="fission-poster-qr"] rect').attributes()).toMatchObject({ x: '490', y: '1074', width: '220' })
  })

  it('creates with one Idempotency-Key, kept when saving again after a failure, then shows the campaign', async () => {
    creates = [jsonResponse(503, { error: { code: 'wecom_unavailable', message: 'WeCom did not answer; retry' } })]
    const { w, router } = await visit('/growth/fission-campaigns/new')
    await w.find('[data-testid="fission-name"]').setValue('邀请有礼')
    await w.find('[data-testid="fission-background"]').setValue('https://cdn.example.com/bg.png')
    // Staff userids are typed and confirmed with Enter (the browser tests type them).
    w.findComponent(TagInput).vm.$emit('update:modelValue', ['zhangsan'])
    await flushPromises()
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="fission-fix-problems"]').exists()).toBe(false)
    expect(w.find('[data-testid="fission-save-error"]').text()).toContain('WeCom did not answer')

    await w.find('form').trigger('submit')
    await flushPromises()
    const posts = sent.filter((r) => r.method === 'POST' && r.path === '/v1/growth/fission-campaigns')
    expect(posts).toHaveLength(2)
    const keys = posts.map((p) => p.headers.get('Idempotency-Key'))
    expect(keys[0]).toMatch(/^console-fission-/)
    expect(keys[1]).toBe(keys[0])
    expect(posts[1].body).toMatchObject({
      name: '邀请有礼',
      tiers: [{ invites: 3, reward: { kind: 'points', points: 100 } }],
      hold_hours: 24,
      userids: ['zhangsan'],
      poster: { background_url: 'https://cdn.example.com/bg.png', width: 750, height: 1334 },
    })
    expect(posts[1].body).not.toHaveProperty('cap_per_inviter')
    expect(router.currentRoute.value.path).toBe(`/growth/fission-campaigns/${created.id}`)
    await flushPromises()
    expect(w.find('[data-testid="fission-figure-inviters"]').text()).toContain('4')
    expect(w.find('[data-testid="fission-tiers"]').text()).toContain('已发放 2 人')
    expect(w.find('[data-testid="fission-tiers"]').text()).toContain('礼品 rw1')
  })

  it('edits a started campaign from its version, with only the name, end and cap open', async () => {
    edits = [jsonResponse(409, { error: { code: 'version_mismatch', message: 'the campaign changed', details: { current_version: 2 } } })]
    campaign = { ...created, ends_at: '2027-06-01T00:00:00Z' }
    const { w, router } = await visit(`/growth/fission-campaigns/${created.id}/edit`)
    expect(w.find('[data-testid="fission-started-hint"]').exists()).toBe(true)
    expect((w.find('[data-testid="fission-name"]').element as HTMLInputElement).value).toBe('邀请有礼')
    expect(w.find('[data-testid="fission-hold"] input').attributes('disabled')).toBeDefined()
    expect(w.findAll('fieldset[disabled]').length).toBeGreaterThan(0)
    await w.find('[data-testid="fission-name"]').setValue('加推一周')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="fission-save-error"]').text()).toContain('活动在你编辑期间被修改过')

    await w.find('form').trigger('submit')
    await flushPromises()
    const puts = sent.filter((r) => r.method === 'PUT')
    expect(puts).toHaveLength(2)
    expect(puts[1].body).toMatchObject({ version: 1, name: '加推一周', hold_hours: 24, tiers: created.tiers })
    expect(sent.some((r) => r.method === 'POST')).toBe(false)
    expect(router.currentRoute.value.path).toBe(`/growth/fission-campaigns/${created.id}`)
  })

  it('shows the API’s problems when it refuses the campaign', async () => {
    creates = [
      jsonResponse(400, {
        error: { code: 'validation_failed', message: 'the campaign is not valid', details: { problems: [{ field: 'userids[0]', message: 'not a member of the corp' }] } },
      }),
    ]
    const { w } = await visit('/growth/fission-campaigns/new')
    await w.find('[data-testid="fission-name"]').setValue('邀请有礼')
    await w.find('[data-testid="fission-background"]').setValue('https://cdn.example.com/bg.png')
    w.findComponent(TagInput).vm.$emit('update:modelValue', ['nobody'])
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="fission-save-error"]').text()).toContain('userids[0]')
    expect(w.find('[data-testid="fission-save-error"]').text()).toContain('not a member of the corp')
  })
})

describe('a fission campaign’s page', () => {
  let ended = false
  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    ended = false
    vi.stubGlobal('fetch', async (req: Request) => {
      const path = new URL(req.url).pathname
      if (path.endsWith('/leaderboard')) return jsonResponse(200, { items: [{ external_userid: 'wm1', name: '小明', confirmed: 6, pending: 1 }] })
      if (req.method === 'POST' && path.endsWith('/end')) {
        ended = true
        return jsonResponse(200, { ...created, status: 'ended' })
      }
      if (path === `/v1/growth/fission-campaigns/${created.id}`) return jsonResponse(200, created)
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('shows figures and the leaderboard, and ends the campaign only once confirmed', async () => {
    const { w } = await visit(`/growth/fission-campaigns/${created.id}`)
    expect(w.find('[data-testid="fission-figure-confirmed"]').text()).toContain('6')
    expect(w.find('[data-testid="fission-leaderboard"]').text()).toContain('小明')
    expect(w.find('[data-testid="fission-phase"]').text()).toBe('进行中')
    await w.find('[data-testid="fission-end"]').trigger('click')
    await flushPromises()
    expect(ended).toBe(false)
    expect(document.body.querySelector('[data-test="confirm-message"]')?.textContent).toContain('立即结束「邀请有礼」')
    ;(document.body.querySelector('[data-test="confirm-proceed"]') as HTMLElement).click()
    await flushPromises()
    expect(ended).toBe(true)
    expect(w.find('[data-testid="fission-phase"]').text()).toBe('已提前结束')
    expect(w.find('[data-testid="fission-end"]').exists()).toBe(false)
  })

  it('says so when the campaign cannot be read', async () => {
    vi.stubGlobal('fetch', async () => jsonResponse(503, { error: { code: 'unavailable', message: 'try again later' } }))
    const { w } = await visit(`/growth/fission-campaigns/${created.id}`)
    expect(w.find('[data-state="error"]').text()).toContain('try again later')
  })
})
