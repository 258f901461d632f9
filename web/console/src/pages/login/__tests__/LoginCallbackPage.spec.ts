import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { defineComponent } from 'vue'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { connectSessionToClient, useSessionStore } from '@/stores/session'
import LoginCallbackPage from '../LoginCallbackPage.vue'
import { LOGIN_STATE_KEY, scanLoginUrl, safeRedirect } from '../wecomLogin'

const Blank = defineComponent({ template: '<div class="blank" />' })

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

async function visit(query: string) {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: Blank },
      { path: '/login/callback', component: LoginCallbackPage },
      { path: '/dashboard', component: Blank },
      { path: '/customers', component: Blank },
    ],
  })
  await router.push(`/login/callback?${query}`)
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
  await flushPromises()
  await flushPromises()
  return { router, wrapper }
}

describe('the scan login callback', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  beforeEach(() => {
    localStorage.clear()
    sessionStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    vi.stubGlobal('fetch', fetchMock)
    connectSessionToClient(useSessionStore())
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
  })

  it('exchanges the code of a login started here and goes where the operator was going', async () => {
    sessionStorage.setItem(LOGIN_STATE_KEY, JSON.stringify({ state: 's1', corpId: 'ww1', redirect: '/customers' }))
    fetchMock.mockResolvedValue(
      jsonResponse(201, { token: 'scs_x', expires_at: '2999-01-01T00:00:00Z', member: { userid: 'lisi', name: '李四' }, role: 'operator', scopes: ['read', 'write'] }),
    )
    const { router } = await visit('code=C1&state=s1')
    expect(await fetchMock.mock.calls[0][0].json()).toEqual({ corp_id: 'ww1', code: 'C1' })
    expect(router.currentRoute.value.path).toBe('/customers')
    expect(useSessionStore().member?.name).toBe('李四')
    // The state is used once.
    expect(sessionStorage.getItem(LOGIN_STATE_KEY)).toBeNull()
  })

  it('refuses a state it did not issue, without asking the API', async () => {
    sessionStorage.setItem(LOGIN_STATE_KEY, JSON.stringify({ state: 's1', corpId: 'ww1', redirect: null }))
    const { wrapper } = await visit('code=C1&state=forged')
    expect(fetchMock).not.toHaveBeenCalled()
    expect(wrapper.find('[data-testid="login-callback-failed"]').exists()).toBe(true)
  })

  it('says who is signed in without a role instead of a blank page', async () => {
    sessionStorage.setItem(LOGIN_STATE_KEY, JSON.stringify({ state: 's1', corpId: 'ww1', redirect: null }))
    fetchMock.mockResolvedValue(jsonResponse(403, { error: { code: 'no_role', message: 'no role', details: { userid: 'wangwu', name: '王五' } } }))
    const { wrapper } = await visit('code=C1&state=s1')
    const page = wrapper.find('[data-testid="login-no-role"]')
    expect(page.exists()).toBe(true)
    expect(page.text()).toContain('王五')
    expect(useSessionStore().loggedIn).toBe(false)
  })

  it('shows what WeCom or the API said for other refusals', async () => {
    sessionStorage.setItem(LOGIN_STATE_KEY, JSON.stringify({ state: 's1', corpId: 'ww1', redirect: null }))
    fetchMock.mockResolvedValue(jsonResponse(403, { error: { code: 'member_departed', message: 'this member has left the corp' } }))
    const { wrapper } = await visit('code=C1&state=s1')
    expect(wrapper.find('[data-testid="login-callback-failed"]').text()).toContain('离职')
  })
})

describe('the scan login link', () => {
  it('carries the corp, agent, return address and state', () => {
    const url = new URL(
      scanLoginUrl({ corp_id: 'ww1', wecom_login: true, agent_id: 1000002, sso_url: 'http://127.0.0.1:8400/wwlogin/sso/login' }, 'http://console.test/login/callback', 'abc', 'zh-CN'),
    )
    expect(url.pathname).toBe('/wwlogin/sso/login')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      login_type: 'CorpApp',
      appid: 'ww1',
      agentid: '1000002',
      redirect_uri: 'http://console.test/login/callback',
      state: 'abc',
      lang: 'zh',
    })
  })

  it('follows only the console’s own paths after login', () => {
    expect(safeRedirect('/customers?x=1')).toBe('/customers?x=1')
    expect(safeRedirect('//evil.test/')).toBeNull()
    expect(safeRedirect('https://evil.test/')).toBeNull()
    expect(safeRedirect('/login')).toBeNull()
  })
})
