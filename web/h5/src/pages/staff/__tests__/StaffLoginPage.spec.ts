import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import { useStaffSession } from '@/stores/staffSession'
import StaffLoginPage from '../StaffLoginPage.vue'

const Tasks = { template: '<p data-test="tasks">tasks</p>' }

async function open(url: string) {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/staff/login', component: StaffLoginPage },
      { path: '/staff/tasks', component: Tasks },
    ],
  })
  await router.push(url)
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
  await flushPromises()
  await flushPromises()
  return { router, wrapper }
}

describe('the staff login page with a reminder link', () => {
  let assign: ReturnType<typeof vi.fn>
  beforeEach(() => {
    freshPinia()
    localStorage.clear()
    sessionStorage.clear()
    assign = vi.fn()
    vi.stubGlobal('location', { href: 'https://h5.example.com/m/?corp_id=ww1&agent_id=7&token=t1', assign })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('exchanges a good link and opens the task center', async () => {
    const calls = stubFetch(() => [200, { token: 's1', userid: 'zhangsan', expires_at: new Date(Date.now() + 3600_000).toISOString() }])
    const { router } = await open('/staff/login?token=t1&corp_id=ww1&agent_id=7')
    expect(calls[0].body).toEqual({ link: 't1' })
    expect(router.currentRoute.value.path).toBe('/staff/tasks')
    expect(assign).not.toHaveBeenCalled()
  })

  it('sends an expired link through WeCom OAuth for the corp and its app', async () => {
    stubFetch(() => [401, { error: { code: 'token_expired', message: 'the link has expired' } }])
    const { wrapper } = await open('/staff/login?token=t1&corp_id=ww1&agent_id=7')
    expect(assign).toHaveBeenCalledTimes(1)
    const url = new URL(assign.mock.calls[0][0] as string)
    expect(url.searchParams.get('appid')).toBe('ww1')
    expect(url.searchParams.get('agentid')).toBe('7')
    expect(url.searchParams.get('state')).toBe('s')
    expect(url.searchParams.get('redirect_uri')).toBe('https://h5.example.com/m/?corp_id=ww1')
    expect(wrapper.find('[data-state=error]').exists()).toBe(false)
  })

  it('goes on with the session this device has when the link was used already', async () => {
    useStaffSession().adopt({ token: 's0', userid: 'zhangsan', expires_at: new Date(Date.now() + 3600_000).toISOString() })
    stubFetch(() => [401, { error: { code: 'link_used', message: 'used' } }])
    const { router } = await open('/staff/login?token=t1&corp_id=ww1&agent_id=7')
    expect(router.currentRoute.value.path).toBe('/staff/tasks')
    expect(assign).not.toHaveBeenCalled()
  })

  it('says why a forged link is refused, and sends nobody to WeCom', async () => {
    stubFetch(() => [401, { error: { code: 'unauthenticated', message: 'invalid token' } }])
    const { wrapper } = await open('/staff/login?token=forged&corp_id=ww1')
    expect(assign).not.toHaveBeenCalled()
    expect(wrapper.find('[data-state=error]').exists()).toBe(true)
    expect(wrapper.text()).toContain('invalid token')
  })
})
