import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import type { CustomerSidebar, GroupSidebar } from '@/api/staff'
import { setLocale } from '@/i18n'
import SidebarPage from '../SidebarPage.vue'

function customer(over: Partial<CustomerSidebar> = {}): CustomerSidebar {
  return {
    external_userid: 'wm1',
    name: 'Lily',
    avatar: null,
    corp_name: null,
    remark: '老客户李',
    stage: null,
    follower: true,
    tags: [{ tag_id: 'etVip', name: 'VIP', group_name: '客户价值' }],
    available_tags: [
      { tag_id: 'etVip', name: 'VIP', group_name: '客户价值' },
      { tag_id: 'etNew', name: '新客', group_name: '客户价值' },
    ],
    points: { balance: 40, current_streak: 2, longest_streak: 5 },
    groups: [{ chat_id: 'wr1', name: '会员一群' }],
    timeline: [
      { at: '2026-11-30T02:00:00Z', kind: 'points', amount: 10, entry_kind: 'earn', reason: 'check_in' },
      { at: '2026-11-29T02:00:00Z', kind: 'joined', chat_id: 'wr1', group_name: '会员一群' },
    ],
    ...over,
  }
}

async function open(url: string) {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/staff/sidebar', component: SidebarPage }] })
  await router.push(url)
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
  await flushPromises()
  await flushPromises()
  return wrapper
}

describe('the customer sidebar', () => {
  beforeEach(() => {
    freshPinia()
    setLocale('zh-CN')
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it("shows the customer's profile, points, tags, groups and timeline", async () => {
    const calls = stubFetch(() => [200, customer()])
    const wrapper = await open('/staff/sidebar?external_userid=wm1')
    expect(calls[0].path).toMatch(/\/v1\/sidebar\/customer\/wm1$/)
    const text = wrapper.text()
    expect(text).toContain('Lily')
    expect(text).toContain('老客户李')
    expect(text).toContain('40')
    expect(text).toContain('连续签到 2 天')
    expect(text).toContain('VIP')
    expect(text).toContain('会员一群')
    expect(text).toContain('获得 · 每日签到')
    expect(text).toContain('+10')
    expect(wrapper.find('[data-testid=edit-tags]').exists()).toBe(true)
  })

  it('removes a tag through the API and shows what it answers', async () => {
    const calls = stubFetch((call) =>
      call.method === 'PUT' ? [200, { external_userid: 'wm1', tags: [] }] : [200, customer()],
    )
    const wrapper = await open('/staff/sidebar?external_userid=wm1')
    await wrapper.find('.van-tag__close').trigger('click')
    await flushPromises()
    const put = calls.find((c) => c.method === 'PUT')
    expect(put?.path).toMatch(/\/v1\/sidebar\/customer\/wm1\/tags$/)
    expect(put?.body).toEqual({ add: [], remove: ['etVip'] })
    expect(wrapper.text()).toContain('还没有标签')
  })

  it('says why someone who does not follow the customer cannot edit their tags', async () => {
    stubFetch(() => [200, customer({ follower: false, remark: null })])
    const wrapper = await open('/staff/sidebar?external_userid=wm1')
    expect(wrapper.find('[data-testid=edit-tags]').exists()).toBe(false)
    expect(wrapper.find('[data-testid=not-follower]').exists()).toBe(true)
  })

  it("shows the API's message when the customer is unknown", async () => {
    stubFetch(() => [404, { error: { code: 'customer_not_found', message: 'no customer wm9' } }])
    const wrapper = await open('/staff/sidebar?external_userid=wm9')
    expect(wrapper.find('[data-state=error]').exists()).toBe(true)
    expect(wrapper.text()).toContain('no customer wm9')
  })

  it("shows a group's members, check-ins and joins", async () => {
    const g: GroupSidebar = {
      chat_id: 'wr1',
      name: '会员一群',
      owner: 'zhangsan',
      members: 12,
      dismissed: false,
      tags: ['活跃'],
      check_ins: { date: '2026-11-30', checked_in: 3, customers: 10, rate: 0.3 },
      timeline: [{ at: '2026-11-30T01:00:00Z', kind: 'joined', member_id: 'wm2', member_name: 'Tom' }],
    }
    const calls = stubFetch(() => [200, g])
    const wrapper = await open('/staff/sidebar?chat_id=wr1')
    expect(calls[0].path).toMatch(/\/v1\/sidebar\/group\/wr1$/)
    const text = wrapper.text()
    expect(text).toContain('12 位成员')
    expect(text).toContain('3/10 人 · 30%')
    expect(text).toContain('活跃')
    expect(text).toContain('Tom 入群')
  })
})
