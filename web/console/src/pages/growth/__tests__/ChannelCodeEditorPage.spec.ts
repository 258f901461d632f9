import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { reactive } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import { forgetMaterials } from '@/pages/content/materialRefs'
import ChannelCodeEditorPage from '../ChannelCodeEditorPage.vue'
import WelcomeEditor from '../components/WelcomeEditor.vue'

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

/** A code whose welcome carries a material and a link, with a group invite. */
const withInvite = {
  ...stored,
  state: 'ch99887766554433bb',
  welcome: {
    text: '你好',
    attachments: [
      { type: 'material', material_id: 'm01handbook', track: false },
      { type: 'link', title: '新人礼包', url: 'https://h5.example.com/gift', track: false },
    ],
  },
  group_invite: 'gc0011223344556677',
  invite_pic_url: 'https://wework.qpic.cn/invite.png',
}

const material = (material_id: string, kind: string, title: string, status = 'ready') => ({
  material_id,
  kind,
  title,
  status,
  tags: [],
  version: 1,
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
})

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
      if (req.method === 'GET' && path === `/v1/growth/channel-codes/${withInvite.state}`) return jsonResponse(200, withInvite)
      if (req.method === 'PUT' && path === `/v1/growth/channel-codes/${withInvite.state}`) return jsonResponse(200, { ...withInvite, ...(body as object) })
      if (path === '/v1/growth/group-codes') {
        return jsonResponse(200, { items: [{ state: 'gc0011223344556677', name: '会员福利群码' }, { state: 'gc8899aabbccddeeff', name: '新人群码' }] })
      }
      if (path === '/v1/content/materials/m01handbook') return jsonResponse(200, material('m01handbook', 'link', '会员手册'))
      if (path === '/v1/content/materials') {
        return jsonResponse(200, { items: [material('m02intro', 'text', '店铺介绍'), material('m03poster', 'image', '上新海报', 'pending')] })
      }
      if (path === '/v1/content/folders') return jsonResponse(200, { items: [] })
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
    forgetMaterials()
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

  it('shows a stored material by title and the invite, replaces the material through the picker, and saves a tracked link', async () => {
    const { w } = await visit(`/growth/channel-codes/${withInvite.state}/edit`)
    await flushPromises()
    expect(w.find('[data-testid="code-welcome-material-title"]').text()).toBe('会员手册')
    // The invite takes one of the nine attachments.
    expect(w.find('[data-testid="code-welcome-add-attachment"]').text()).toContain('2/8')
    const preview = w.find('[data-testid="code-welcome-preview"]').text()
    expect(preview).toContain('会员手册')
    expect(preview).toContain('群二维码：会员福利群码')

    // Replace the material: the picker lists the library; one awaiting its upload cannot be chosen.
    await w.find('[data-testid="code-welcome-material-change"]').trigger('click')
    await flushPromises()
    const rows = [...document.body.querySelectorAll('[data-testid="picker-table"] tbody tr')]
    expect(rows.map((r) => r.textContent)).toEqual([expect.stringContaining('店铺介绍'), expect.stringContaining('上新海报')])
    const choose = (i: number) => rows[i].querySelector('[data-testid="picker-choose"]') as HTMLButtonElement
    expect(choose(1).disabled).toBe(true)
    choose(0).click()
    await flushPromises()
    expect(w.find('[data-testid="code-welcome-material-title"]').text()).toBe('店铺介绍')

    await w.find('[data-testid="code-welcome-link-track"]').trigger('click')
    await w.find('form').trigger('submit')
    await flushPromises()
    const put = sent.find((r) => r.method === 'PUT')
    expect(put?.body).toMatchObject({
      version: 3,
      group_invite: 'gc0011223344556677',
      welcome: {
        attachments: [
          { type: 'material', material_id: 'm02intro' },
          { type: 'link', title: '新人礼包', url: 'https://h5.example.com/gift', track: true },
        ],
      },
    })
    expect((put?.body as { welcome: { attachments: object[] } }).welcome.attachments[0]).toEqual({ type: 'material', material_id: 'm02intro' })
  })
})

describe('the welcome editor', () => {
  const links = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'link' as const, title: `l${i}`, url: 'https://h5.example.com/' + i }))

  it('stops adding at its limit, says when there are too many, and removes one', async () => {
    const model = reactive({ text: 'hi', points_page_url: '', attachments: links(9) })
    const w = mount(WelcomeEditor, {
      props: { modelValue: model, maxAttachments: 8, idPrefix: 'w', extraCards: ['群二维码：会员群'] },
      attachTo: document.body,
    })
    await flushPromises()
    const add = () => w.find('[data-testid="w-add-attachment"]')
    expect(add().attributes('disabled')).toBeDefined()
    expect(w.find('[data-testid="w-too-many"]').text()).toContain('8')
    expect(w.find('[data-testid="w-preview-extra"]').text()).toBe('群二维码：会员群')

    await w.findAll('[data-testid="w-remove-attachment"]')[0].trigger('click')
    await flushPromises()
    expect(model.attachments.map((a) => a.title)).toEqual(['l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8'])
    expect(w.find('[data-testid="w-too-many"]').exists()).toBe(false)
    expect(add().attributes('disabled')).toBeDefined()

    await w.setProps({ maxAttachments: 9 })
    expect(add().attributes('disabled')).toBeUndefined()
    expect(add().text()).toContain('8/9')
    w.unmount()
  })
})
