import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { i18n } from '@/i18n'
import { stubFetch, type Call } from '@/test/fetch'
import type { CheckInPageData } from '@/api/customer'
import { CHECK_IN_CACHE_KEY, stalePage } from '@/stores/points'
import { CUSTOMER_SESSION_KEY } from '@/stores/customerSession'
import CheckInPage from '../CheckInPage.vue'

const page: CheckInPageData = {
  today: '2026-03-10',
  enabled: true,
  checked_in_today: false,
  current_streak: 2,
  longest_streak: 5,
  total_check_ins: 9,
  balance: 120,
  base_points: 10,
  next_streak_tier: { days: 3, bonus: 5, remaining: 1 },
  next_cumulative_tier: { days: 10, bonus: 15, remaining: 2 },
  cumulative_period: 'month',
  period_check_ins: 8,
  month: '2026-03',
  days: ['2026-03-08', '2026-03-09'],
}

async function open(answer: (c: Call) => [number, unknown] | 'network' | Promise<never>) {
  const calls = stubFetch(answer as (c: Call) => [number, unknown])
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/c/check-in', component: CheckInPage }] })
  await router.push('/c/check-in')
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router], stubs: { CustomerTabbar: true } } })
  await flushPromises()
  return { calls, wrapper }
}

describe('the check-in page', () => {
  beforeEach(() => {
    freshPinia()
    localStorage.clear()
    i18n.global.locale.value = 'zh-CN'
    localStorage.setItem(CUSTOMER_SESSION_KEY, JSON.stringify({ token: 't', external_userid: 'wm1', expires_at: new Date(Date.now() + 3600_000).toISOString(), corp_id: 'ww1' }))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('draws from one read: streak, both next tiers and the calendar', async () => {
    const { calls, wrapper } = await open(() => [200, page])
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /customer-api/v1/check-in'])
    expect(wrapper.get('[data-testid=streak]').text()).toBe('2 天')
    expect(wrapper.get('[data-testid=next-tier]').text()).toBe('再连续签到 1 天，连签 3 天额外 +5 积分')
    expect(wrapper.get('[data-testid=next-cumulative-tier]').text()).toBe('本月再签到 2 天，累计 10 天额外 +15 积分')
    expect(wrapper.find('[data-date="2026-03-09"][data-checked=true]').exists()).toBe(true)
    expect(wrapper.find('[data-date="2026-03-10"][data-checked=true]').exists()).toBe(false)
    i18n.global.locale.value = 'en'
    await flushPromises()
    expect(wrapper.get('[data-testid=next-tier]').text()).toBe('1 more day in a row to the 3-day streak: +5 points')
  })

  it('checks in, then reads the page again', async () => {
    let done = false
    const { calls, wrapper } = await open((c) => {
      if (c.method === 'POST') {
        done = true
        return [200, { seq: 12, kind: 'earn', amount: 15, balance: 135, details: { date: '2026-03-10', base: 10, streak_bonus: 5, cumulative_bonus: 0 } }]
      }
      return [200, done ? { ...page, checked_in_today: true, current_streak: 3, balance: 135, days: [...page.days, '2026-03-10'], next_streak_tier: { days: 7, bonus: 20, remaining: 4 } } : page]
    })
    await wrapper.get('[data-testid=check-in]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid=earned]').text()).toContain('签到成功 +15')
    expect(wrapper.get('[data-testid=balance]').text()).toBe('135')
    expect(wrapper.get('[data-testid=next-tier]').text()).toContain('再连续签到 4 天')
    expect(wrapper.find('[data-date="2026-03-10"][data-checked=true]').exists()).toBe(true)
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1)
  })

  it('shows the last read at once on a repeat visit, and keeps it with a note when the API fails', async () => {
    localStorage.setItem(CHECK_IN_CACHE_KEY, JSON.stringify({ customer: 'wm1', page }))
    const { wrapper } = await open(() => [503, { error: { code: 'unavailable', message: 'try again' } }])
    expect(wrapper.find('[data-state=loading]').exists()).toBe(false)
    expect(wrapper.get('[data-testid=balance]').text()).toBe('120')
    expect(wrapper.get('[data-testid=stale]').text()).toContain('try again')
    expect(wrapper.get('[data-testid=check-in]').attributes('disabled')).toBeUndefined()
  })

  it("ignores another customer's cached read and shows the API's error", async () => {
    localStorage.setItem(CHECK_IN_CACHE_KEY, JSON.stringify({ customer: 'wmOther', page }))
    const { wrapper } = await open(() => [503, { error: { code: 'unavailable', message: 'try again' } }])
    expect(wrapper.get('[data-state=error]').text()).toContain('try again')
  })

  it('says so when check-in is off', async () => {
    const { wrapper } = await open(() => [200, { ...page, enabled: false, next_streak_tier: null, next_cumulative_tier: null }])
    expect(wrapper.find('[data-testid=check-in]').exists()).toBe(false)
    expect(wrapper.get('[data-state=empty]').text()).toContain('暂未开启签到')
  })
})

describe('a cached read from an earlier day', () => {
  it('no longer says checked in today; the streak lives only if yesterday was checked in', () => {
    const yesterday = { ...page, checked_in_today: true, current_streak: 3 }
    expect(stalePage(yesterday, '2026-03-11')).toMatchObject({ today: '2026-03-11', checked_in_today: false, current_streak: 3 })
    expect(stalePage(yesterday, '2026-03-12')).toMatchObject({ checked_in_today: false, current_streak: 0 })
    expect(stalePage(page, '2026-03-10')).toBe(page)
  })
})
