import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import ChannelCodeEditorPage from '../ChannelCodeEditorPage.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const stored = {
  state: 'ch00112233445566aa',
  name: '门店海报',
  kind: 'single',
  rota: { shifts: [{ userid: 'zhangsan', weekdays: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '24:00' }] },
  welcome: { text: '你好 {customer_name}' },
  tags: [],
  skip_verify: true,
  status: 'active',
  on_duty: ['zhangsan'],
  version: 3,
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
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
      { path: '/growth/channel-codes/new', component: ChannelCodeEditorPage },
      { path: '/growth/channel-codes/:state/edit', component: ChannelCodeEditorPage, props: true },
      { path: '/growth/channel-codes/:state', name: 'growth-code', component: { template: '<div data-test="code-page" />' } },
    ],
  })
  await router.push(path)
  const w = mount({ template: '<router-view />' }, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { w, router }
}

describe('the channel code editor', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  const sent: { method: string; path: string; headers: Headers; body: unknown }[] = []
  /** The answers of the create, in turn. */
  let creates: Response[] = []

  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    sent.length = 0
    creates = []
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname
      const body = req.method === 'GET' ? undefined : await req.clone().json()
      sent.push({ method: req.method, path, headers: req.headers, body })
      if (path === '/v1/tenant') return jsonResponse(200, { corp_id: 'wwtest', settings: { timezone: 'Asia/Shanghai' } })
      if (path === '/v1/tags') return jsonResponse(200, { tag_groups: [{ group_id: 'g1', group_name: '来源', tag: [{ id: 'et1', name: '海报' }] }] })
      if (req.method === 'POST' && path === '/v1/growth/channel-codes') return creates.shift() ?? jsonResponse(201, stored)
      if (req.method === 'GET' && path === `/v1/growth/channel-codes/${stored.state}`) return jsonResponse(200, stored)
      if (req.method === 'PUT' && path === `/v1/growth/channel-codes/${stored.state}`) return jsonResponse(200, { ...stored, ...(body as object) })
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  it('shows every problem and sends nothing while the form is wrong', async () => {
    const { w } = await visit('/growth/channel-codes/new')
    await w.find('[data-testid="shift-end"]').setValue('08:00')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="code-fix-problems"]').exists()).toBe(true)
    const item = (testid: string) => w.find(`[data-testid="${testid}"]`).element.closest('.el-form-item')
    expect(item('code-name')?.classList.contains('is-error')).toBe(true)
    expect(w.text()).toContain('不是有效的员工 UserID')
    expect(sent.some((r) => r.method === 'POST')).toBe(false)
  })

  it('creates with one Idempotency-Key, kept when saving again after a failure', async () => {
    creates = [jsonResponse(503, { error: { code: 'wecom_unavailable', message: 'WeCom did not answer; retry' } })]
    const { w, router } = await visit('/growth/channel-codes/new')
    await w.find('[data-testid="code-name"]').setValue('门店海报')
    await w.find('[data-testid="shift-userid"]').setValue('zhangsan')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="code-save-error"]').text()).toContain('WeCom did not answer')

    await w.find('form').trigger('submit')
    await flushPromises()
    const posts = sent.filter((r) => r.method === 'POST' && r.path === '/v1/growth/channel-codes')
    expect(posts).toHaveLength(2)
    const keys = posts.map((p) => p.headers.get('Idempotency-Key'))
    expect(keys[0]).toMatch(/^console-code-/)
    expect(keys[1]).toBe(keys[0])
    expect(posts[1].body).toMatchObject({ name: '门店海报', kind: 'single', rota: { shifts: [{ userid: 'zhangsan' }] } })
    expect(router.currentRoute.value.path).toBe(`/growth/channel-codes/${stored.state}`)
  })

  it('edits from the version it read and shows who takes adds now', async () => {
    const { w } = await visit(`/growth/channel-codes/${stored.state}/edit`)
    expect((w.find('[data-testid="code-name"]').element as HTMLInputElement).value).toBe('门店海报')
    // The only shift covers every minute of the week.
    expect(w.find('[data-testid="code-duty-now"]').text()).toContain('zhangsan')
    await w.find('[data-testid="code-name"]').setValue('门店海报 2')
    await w.find('form').trigger('submit')
    await flushPromises()
    const put = sent.find((r) => r.method === 'PUT')
    expect(put?.body).toMatchObject({ version: 3, name: '门店海报 2', welcome: { text: '你好 {customer_name}' } })
  })
})
