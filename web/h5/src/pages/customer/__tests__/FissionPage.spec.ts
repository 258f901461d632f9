import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { i18n } from '@/i18n'
import { CUSTOMER_SESSION_KEY } from '@/stores/customerSession'
import { progressPercent, tierMarks, type FissionPageData } from '@/lib/fission'
import FissionPage from '../FissionPage.vue'

const ID = 'fc00112233445566aa'
const page: FissionPageData = {
  id: ID,
  name: '邀请好友领好礼',
  status: 'active',
  starts_at: '2026-12-01T00:00:00Z',
  ends_at: '2026-12-31T00:00:00Z',
  hold_hours: 24,
  joins: 'contact',
  tiers: [
    { invites: 1, reward: { kind: 'points', points: 50 } },
    { invites: 3, reward: { kind: 'reward', reward_id: 'rw1' } },
    { invites: 6, reward: { kind: 'coupon', list_id: 'cl1' } },
  ],
  me: { pending: 2, confirmed: 1, revoked: 1, reached: 2, paid: [0], waiting: [], coupons: [] },
  leaderboard: [
    { name: '小*', confirmed: 5 },
    { name: '王*', confirmed: 1, me: true },
  ],
}

interface Call {
  method: string
  path: string
  auth: string | null
}

/** Answers the customer API: the page, the code, and the poster as SVG. */
function stub(answer: (c: Call) => [number, unknown] | { svg: string }): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (req: Request) => {
    const call = { method: req.method, path: new URL(req.url).pathname, auth: req.headers.get('Authorization') }
    calls.push(call)
    const out = answer(call)
    if ('svg' in out) return new Response(out.svg, { status: 200, headers: { 'content-type': 'image/svg+xml' } })
    return new Response(JSON.stringify(out[1]), { status: out[0], headers: { 'content-type': 'application/json' } })
  })
  return calls
}

async function open() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/c/fission/:campaignId', component: FissionPage, props: true }] })
  await router.push(`/c/fission/${ID}`)
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
  await flushPromises()
  return wrapper
}

describe('the fission campaign page', () => {
  beforeEach(() => {
    freshPinia()
    localStorage.clear()
    i18n.global.locale.value = 'zh-CN'
    localStorage.setItem(CUSTOMER_SESSION_KEY, JSON.stringify({ token: 'tok1', external_userid: 'wm1', expires_at: new Date(Date.now() + 3600_000).toISOString(), corp_id: 'ww1' }))
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:poster-1')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })

  it('tells a group campaign\'s inviter that friends count by joining and staying in the group', async () => {
    stub(() => [200, { ...page, joins: 'group' }])
    const w = await open()
    expect(w.text()).toContain('好友入群后需留在群里 24 小时才算确认；期间退群的邀请会失效。')
    expect(w.text()).not.toContain('删除好友')
  })

  it('draws the tiers with their marks, my counts and the leaderboard from one read', async () => {
    const calls = stub(() => [200, page])
    const w = await open()
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /customer-api/v1/fission/${ID}`])
    expect(w.get('h1').text()).toBe('邀请好友领好礼')
    expect(w.get('[data-testid=fission-status]').text()).toBe('进行中')
    const tiers = w.findAll('[data-testid=fission-tier]')
    expect(tiers.map((x) => x.attributes('data-mark'))).toEqual(['paid', 'reached', 'open'])
    expect(tiers[0].text()).toContain('50 积分')
    expect(tiers[0].text()).toContain('已发放')
    expect(tiers[1].text()).toContain('已达成，等待确认')
    // 3 counted (2 confirming, 1 confirmed) of the 6 the last tier asks.
    expect(tiers[2].text()).toContain('还差 3 人')
    expect(w.get('[data-testid=fission-progress]').attributes('aria-valuenow')).toBe('50')
    expect(w.get('[data-testid=fission-pending]').text()).toBe('2')
    expect(w.get('[data-testid=fission-confirmed]').text()).toBe('1')
    expect(w.get('[data-testid=fission-revoked]').text()).toBe('1')
    expect(w.text()).toContain('需保留 24 小时')
    const leaders = w.get('[data-testid=fission-leaderboard]').findAll('li')
    expect(leaders).toHaveLength(2)
    expect(leaders[1].attributes('data-me')).toBe('true')
    expect(leaders[1].text()).toContain('王*（我）')
    expect(w.get('[data-testid=fission-get-poster]').text()).toBe('生成我的专属海报')

    i18n.global.locale.value = 'en'
    await flushPromises()
    expect(w.findAll('[data-testid=fission-tier]')[2].text()).toContain('3 to go')
  })

  it('takes the code, then fetches the poster with the token and shows it as a picture', async () => {
    const calls = stub((c) => {
      if (c.method === 'POST') return [200, { state: 'fi0011223344556677', qr_code: 'https://wework.example/qr.png' }]
      if (c.path.endsWith('/poster')) return { svg: '<svg xmlns="http://www.w3.org/2000/svg" width="750" height="1334"/>' }
      return [200, page]
    })
    const w = await open()
    await w.get('[data-testid=fission-get-poster]').trigger('click')
    await flushPromises()
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET /customer-api/v1/fission/${ID}`,
      `POST /customer-api/v1/fission/${ID}/code`,
      `GET /customer-api/v1/fission/${ID}/poster`,
    ])
    expect(calls[2].auth).toBe('Bearer tok1')
    const blob = vi.mocked(URL.createObjectURL).mock.calls[0][0] as Blob
    expect(blob.type).toBe('image/svg+xml')
    expect(w.get('[data-testid=fission-poster]').attributes('src')).toBe('blob:poster-1')
    expect(w.get('[data-testid=fission-poster-hint]').text()).toContain('长按图片保存')
    expect(w.find('[data-testid=fission-get-poster]').exists()).toBe(false)
  })

  it('with a code already taken, shows the poster without taking it again, even after the end', async () => {
    const calls = stub((c) => (c.path.endsWith('/poster') ? { svg: '<svg xmlns="http://www.w3.org/2000/svg"/>' } : [200, { ...page, status: 'ended', me: { ...page.me, code: { state: 'fi0011223344556677', qr_code: 'x' } } }]))
    const w = await open()
    expect(w.get('[data-testid=fission-ended]').text()).toContain('活动已结束')
    expect(w.get('[data-testid=fission-get-poster]').text()).toBe('查看我的专属海报')
    await w.get('[data-testid=fission-get-poster]').trigger('click')
    await flushPromises()
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
    expect(w.find('[data-testid=fission-poster]').exists()).toBe(true)
  })

  it('an upcoming campaign says when it starts and gives no poster yet', async () => {
    stub(() => [200, { ...page, status: 'upcoming', me: { pending: 0, confirmed: 0, revoked: 0, reached: 0, paid: [], waiting: [], coupons: [] }, leaderboard: [] }])
    const w = await open()
    expect(w.get('[data-testid=fission-status]').text()).toBe('未开始')
    expect(w.get('[data-testid=fission-upcoming]').text()).toContain('活动将于')
    expect(w.find('[data-testid=fission-get-poster]').exists()).toBe(false)
    expect(w.get('[data-testid=fission-leaderboard-empty]').text()).toContain('还没有人上榜')
    expect(w.findAll('[data-testid=fission-tier]').map((x) => x.attributes('data-mark'))).toEqual(['open', 'open', 'open'])
  })

  it('says why the code was refused', async () => {
    stub((c) => (c.method === 'POST' ? [409, { error: { code: 'campaign_ended', message: 'the campaign has ended' } }] : [200, page]))
    const w = await open()
    await w.get('[data-testid=fission-get-poster]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid=fission-poster-error]').text()).toBe('活动已结束，不能再领取海报。')
    expect(w.find('[data-testid=fission-poster]').exists()).toBe(false)
  })

  it('shows the loading state, then the API’s error with a retry', async () => {
    let fail = true
    stub(() => (fail ? [404, { error: { code: 'not_found', message: 'no such campaign' } }] : [200, page]))
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/c/fission/:campaignId', component: FissionPage, props: true }] })
    await router.push(`/c/fission/${ID}`)
    const w = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
    await router.isReady()
    expect(w.find('[data-state=loading]').exists()).toBe(true)
    await flushPromises()
    expect(w.get('[data-state=error]').text()).toContain('no such campaign')
    fail = false
    await w.get('[data-state=error] button').trigger('click')
    await flushPromises()
    expect(w.get('h1').text()).toBe('邀请好友领好礼')
  })
})

describe('coupons paid and tiers waiting for stock', () => {
  beforeEach(() => {
    freshPinia()
    localStorage.clear()
    localStorage.setItem(CUSTOMER_SESSION_KEY, JSON.stringify({ token: 'tok1', external_userid: 'wm1', expires_at: new Date(Date.now() + 3600_000).toISOString(), corp_id: 'ww1' }))
    i18n.global.locale.value = 'zh-CN'
  })
  afterEach(() => vi.unstubAllGlobals())

  it('shows the codes issued and marks a tier earned but out of stock', async () => {
    const me = {
      pending: 0,
      confirmed: 6,
      revoked: 0,
      reached: 3,
      paid: [0, 2],
      waiting: [1],
      coupons: [{ tier: 2, code: 'SAVE-10-XYZ', issued_at: '2026-12-02T00:00:00Z' }],
    }
    stub(() => [200, { ...page, me }])
    const w = await open()
    expect(w.findAll('[data-testid=fission-tier]').map((t) => t.attributes('data-mark'))).toEqual(['paid', 'stock', 'paid'])
    expect(w.findAll('[data-testid=fission-tier]')[1].text()).toContain('奖品补货中')
    expect(w.get('[data-testid=fission-coupon]').text()).toContain('邀请 6 人')
    expect(w.get('[data-testid=fission-coupon-code]').text()).toBe('SAVE-10-XYZ')
  })

  it('copies a coupon code', async () => {
    const writeText = vi.fn(async () => undefined)
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } })
    const me = { ...page.me, paid: [0, 1, 2], coupons: [{ tier: 2, code: 'SAVE-10-XYZ', issued_at: '2026-12-02T00:00:00Z' }] }
    stub(() => [200, { ...page, me }])
    const w = await open()
    const button = w.get('[data-testid=fission-coupon] button')
    expect(button.attributes('aria-label')).toBe('复制券码 SAVE-10-XYZ')
    await button.trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith('SAVE-10-XYZ')
  })

  it('shows no coupon card without codes', async () => {
    stub(() => [200, page])
    const w = await open()
    expect(w.find('[data-testid=fission-coupons]').exists()).toBe(false)
  })
})

describe('tier marks and progress', () => {
  it('reached counts pending invites, paid is final, the bar stops at the last tier', () => {
    expect(tierMarks(page).map((m) => m.mark)).toEqual(['paid', 'reached', 'open'])
    // Paid stays paid even when revocations took the counts below it.
    const after = { ...page, me: { pending: 0, confirmed: 0, revoked: 4, reached: 0, paid: [0], waiting: [], coupons: [] } }
    expect(tierMarks(after)).toEqual([
      { mark: 'paid', missing: 0 },
      { mark: 'open', missing: 3 },
      { mark: 'open', missing: 6 },
    ])
    expect(progressPercent(page)).toBe(50)
    expect(progressPercent({ ...page, me: { ...page.me, confirmed: 9 } })).toBe(100)
  })
})
