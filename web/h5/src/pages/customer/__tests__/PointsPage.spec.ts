import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { i18n } from '@/i18n'
import { stubFetch, type Call } from '@/test/fetch'
import PointsPage from '../PointsPage.vue'

const me = { external_userid: 'wm1', balance: 30, current_streak: 1, longest_streak: 3, total_check_ins: 4, checked_in_today: false, lots: [] }
const entry = (seq: number) => ({ seq, kind: 'earn', amount: 10, balance_after: 10 * seq, reason: 'check_in', created_at: '2026-03-10T01:00:00Z', local_date: '2026-03-10' })

async function open(answer: (c: Call) => [number, unknown] | 'network') {
  stubFetch(answer)
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/c/points', component: PointsPage }, { path: '/c/check-in', component: { template: '<p />' } }] })
  await router.push('/c/points')
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router], stubs: { CustomerTabbar: true } } })
  await flushPromises()
  return wrapper
}

describe('the points page', () => {
  beforeEach(() => {
    freshPinia()
    i18n.global.locale.value = 'zh-CN'
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('says what to do when there is no history yet', async () => {
    const wrapper = await open((c) => (c.path.endsWith('/v1/me') ? [200, me] : [200, { entries: [], next_cursor: null }]))
    expect(wrapper.get('[data-state=empty]').text()).toContain('去签到领取第一笔积分')
  })

  it("shows the API's message when the page cannot load", async () => {
    const wrapper = await open(() => [503, { error: { code: 'unavailable', message: 'the service is busy' } }])
    expect(wrapper.get('[data-state=error]').text()).toContain('the service is busy')
  })

  it('keeps the history read so far when the next page fails', async () => {
    let pages = 0
    const wrapper = await open((c) => {
      if (c.path.endsWith('/v1/me')) return [200, me]
      pages += 1
      return pages === 1 ? [200, { entries: [entry(3), entry(2)], next_cursor: '2' }] : [503, { error: { code: 'unavailable', message: 'busy' } }]
    })
    await wrapper.get('.more button').trigger('click')
    await flushPromises()
    expect(wrapper.findAll('[data-testid=ledger-row]')).toHaveLength(2)
    expect(wrapper.find('[data-state=error]').exists()).toBe(false)
  })
})
