import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { i18n } from '@/i18n'
import { stubFetch, type Call } from '@/test/fetch'
import RewardsPage from '../RewardsPage.vue'

const me = { external_userid: 'wm1', balance: 100, current_streak: 1, longest_streak: 3, total_check_ins: 4, checked_in_today: false, lots: [] }
const mug = (stock: number) => ({ reward_id: 'r1', name: '马克杯', description: null, cost: 50, stock, in_stock: stock > 0 })

async function open(answer: (c: Call) => [number, unknown] | 'network') {
  const calls = stubFetch(answer)
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/c/rewards', component: RewardsPage }, { path: '/c/me', component: { template: '<p />' } }] })
  await router.push('/c/rewards')
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router], stubs: { CustomerTabbar: true } }, attachTo: document.body })
  await flushPromises()
  return { calls, wrapper }
}

/** Confirms the open Vant dialog. */
async function confirmDialog() {
  await flushPromises()
  ;(document.querySelector('.van-dialog__confirm') as HTMLButtonElement).click()
  await flushPromises()
}

describe('the rewards mall', () => {
  beforeEach(() => {
    freshPinia()
    i18n.global.locale.value = 'zh-CN'
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    // Close any dialog left open (Vant keeps one instance in the body).
    document.querySelectorAll<HTMLButtonElement>('.van-dialog__confirm').forEach((b) => b.click())
  })

  it('shows the units left, and sold out at zero', async () => {
    const { wrapper } = await open((c) => (c.path.endsWith('/v1/me') ? [200, me] : [200, { rewards: [mug(3), { ...mug(0), reward_id: 'r2' }] }]))
    const stock = wrapper.findAll('[data-testid=stock]')
    expect(stock[0].text()).toBe('剩余 3 件')
    expect(stock[1].text()).toBe('已兑完')
    expect(wrapper.findAll('[data-testid=redeem]')[1].attributes('disabled')).toBeDefined()
  })

  it('says "out of stock" in Chinese, stops the spinner and reads the stock again', async () => {
    let stock = 1
    const { calls, wrapper } = await open((c) => {
      if (c.path.endsWith('/v1/me')) return [200, me]
      if (c.path.endsWith('/redeem')) {
        stock = 0
        return [409, { error: { code: 'out_of_stock', message: 'reward out of stock' } }]
      }
      return [200, { rewards: [mug(stock)] }]
    })
    const rewardsReads = () => calls.filter((c) => c.method === 'GET' && c.path.endsWith('/v1/rewards')).length
    expect(rewardsReads()).toBe(1)
    await wrapper.find('[data-testid=redeem]').trigger('click')
    await confirmDialog()
    await flushPromises()
    const dialog = document.querySelector('.van-dialog:not([style*="display: none"]) .van-dialog__message')
    expect(dialog?.textContent).toBe('这件礼品刚刚兑完了，看看其他礼品吧。')
    expect(document.body.textContent).not.toContain('reward out of stock')
    // The failure dialog is open, and the button no longer spins.
    expect(wrapper.find('[data-testid=redeem]').classes()).not.toContain('van-button--loading')
    expect(rewardsReads()).toBe(2)
    expect(wrapper.find('[data-testid=stock]').text()).toBe('已兑完')
  })

  it('retries an attempt whose answer was lost under the same key', async () => {
    const answers: ([number, unknown] | 'network')[] = ['network', [200, { seq: 9, kind: 'spend', amount: -50, balance: 50 }]]
    const { calls, wrapper } = await open((c) => {
      if (c.path.endsWith('/v1/me')) return [200, me]
      if (c.path.endsWith('/redeem')) return answers.shift()!
      return [200, { rewards: [mug(5)] }]
    })
    for (let i = 0; i < 2; i++) {
      await wrapper.find('[data-testid=redeem]').trigger('click')
      await confirmDialog()
      await flushPromises()
      document.querySelectorAll<HTMLButtonElement>('.van-dialog__confirm').forEach((b) => b.click())
      await flushPromises()
    }
    const keys = calls.filter((c) => c.path.endsWith('/redeem')).map((c) => c.headers.get('idempotency-key'))
    expect(keys).toHaveLength(2)
    expect(keys[1]).toBe(keys[0])
  })
})
