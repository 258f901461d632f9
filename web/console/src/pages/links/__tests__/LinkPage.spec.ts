import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import LinksPage from '../LinksPage.vue'
import LinkPage from '../LinkPage.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const link = {
  link_id: 'lk00112233445566',
  url: 'https://shop.example.com/sale',
  title: '双十二大促',
  created_at: '2026-12-01T00:00:00Z',
  created_by: 'member:zhangsan',
  code: 'AbCdEf1234',
  path: '/l/AbCdEf1234',
  short_url: 'https://go.example.com/l/AbCdEf1234',
  clicks: 5,
  identified: 1,
  visitors: 3,
}
const row = (key: string, clicks: number) => ({ key, clicks, identified: 0, visitors: clicks })
const figures = {
  from: '2026-11-02',
  to: '2026-12-01',
  total: { clicks: 5, identified: 1, visitors: 3 },
  by_link: [row(link.link_id, 5)],
  by_plan: [row('pl0011', 2)],
  by_staff: [row('lisi', 2)],
  by_day: [row('2026-11-30', 2), row('2026-12-01', 3)],
}

async function visit(path: string, scopes = ['read', 'write']) {
  useSessionStore().adopt({
    token: 'sess_abc',
    expires_at: '2999-01-01T00:00:00Z',
    member: { userid: 'zhangsan', name: '张三' },
    role: 'operator',
    scopes,
  } as never)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/growth/links', name: 'growth-links', component: LinksPage },
      { path: '/growth/links/:id', name: 'growth-link', component: LinkPage, props: true },
      { path: '/sop/plans/:id', name: 'sop-plan', component: { template: '<div />' } },
    ],
  })
  await router.push(path)
  const w = mount({ template: '<router-view />' }, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { w, router }
}

describe('a tracked link page', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  const sent: { method: string; url: URL; body: unknown }[] = []
  let listReply: () => Response

  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    sent.length = 0
    listReply = () => jsonResponse(200, { from: figures.from, to: figures.to, items: [link] })
    fetchMock.mockImplementation(async (req: Request) => {
      const url = new URL(req.url)
      const body = req.method === 'GET' ? undefined : await req.clone().json()
      sent.push({ method: req.method, url, body })
      if (url.pathname === '/v1/links') return listReply()
      if (url.pathname === '/v1/links/figures') return jsonResponse(200, figures)
      if (req.method === 'POST' && url.pathname === `/v1/links/${link.link_id}/codes`) {
        const staff = (body as { staff: string }).staff
        return jsonResponse(200, { code: 'StaffCode1', path: '/l/StaffCode1', short_url: 'https://go.example.com/l/StaffCode1', link_id: link.link_id, staff })
      }
      return jsonResponse(404, { error: { code: 'not_found', message: url.pathname } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  it('opens from the list and shows the target, the short URL and the link’s own figures', async () => {
    const { w, router } = await visit('/growth/links')
    await w.find('[data-testid="link-open"]').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe(`/growth/links/${link.link_id}`)
    expect(w.find('[data-testid="link-detail-title"]').text()).toBe('双十二大促')
    expect(w.find('[data-testid="link-target"]').attributes('href')).toBe(link.url)
    expect(w.findAll('[data-testid="link-code-short"]').map((c) => c.text())).toEqual([link.short_url])
    expect(w.find('[data-testid="link-code-for"]').text()).toContain('通用')
    expect(w.find('[data-testid="link-total-clicks"]').text()).toContain('5')
    expect(w.find('[data-testid="link-by-staff"]').text()).toContain('lisi')
    expect(w.find('[data-testid="link-by-plan"] a').attributes('href')).toBe('/sop/plans/pl0011')
    expect(w.find('[data-chart="link-detail-days"]').exists()).toBe(true)
    // The figures asked are the link's own.
    const fig = sent.filter((r) => r.url.pathname === '/v1/links/figures').pop()
    expect(fig?.url.searchParams.get('link_id')).toBe(link.link_id)
  })

  it('mints a staff member’s own short URL and lists it to copy', async () => {
    const writeText = vi.fn(async () => undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const { w } = await visit(`/growth/links/${link.link_id}`)
    expect(w.find('[data-testid="link-mint"]').attributes('disabled')).toBeDefined()
    await w.find('[data-testid="link-mint-staff"]').setValue(' lisi ')
    await w.find('form.mint').trigger('submit')
    await flushPromises()
    const posts = sent.filter((r) => r.method === 'POST')
    expect(posts.map((r) => r.body)).toEqual([{ staff: 'lisi' }])
    const shorts = w.findAll('[data-testid="link-code-short"]').map((c) => c.text())
    expect(shorts).toEqual([link.short_url, 'https://go.example.com/l/StaffCode1'])
    expect(w.findAll('[data-testid="link-code-for"]')[1].text()).toContain('lisi')
    await w.findAll('[data-testid="link-code-copy"]')[1].trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith('https://go.example.com/l/StaffCode1')
  })

  it('cannot mint without write access', async () => {
    const { w } = await visit(`/growth/links/${link.link_id}`, ['read'])
    expect(w.find('[data-testid="link-mint"]').attributes('disabled')).toBeDefined()
    expect(w.find('[data-testid="link-mint-staff"]').attributes('disabled')).toBeDefined()
  })

  it('says when the link is not listed, and shows an error with a retry', async () => {
    listReply = () => jsonResponse(200, { from: figures.from, to: figures.to, items: [] })
    const { w } = await visit(`/growth/links/${link.link_id}`)
    expect(w.find('[data-state="empty"]').text()).toContain('找不到这个链接')

    listReply = () => jsonResponse(500, { error: { code: 'internal', message: '出错了' } })
    document.body.innerHTML = ''
    const again = await visit(`/growth/links/${link.link_id}`)
    expect(again.w.find('[data-state="error"]').text()).toContain('出错了')
    listReply = () => jsonResponse(200, { from: figures.from, to: figures.to, items: [link] })
    await again.w.find('[data-state="error"] button').trigger('click')
    await flushPromises()
    expect(again.w.find('[data-testid="link-target"]').exists()).toBe(true)
  })
})
