import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import TenantSettingsPage from '../TenantSettingsPage.vue'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

// A setting this page has no field for: the API replaces the whole document on a save.
const rateLimits = { 'externalcontact/groupchat/get': { per_minute: 600 } }
const tenant = {
  corp_id: 'wwtest',
  name: 'Shop',
  created_at: '2026-11-01T00:00:00Z',
  settings: {
    timezone: 'Asia/Tokyo',
    group_message_quota: { kind: 'per_week', limit: 3 },
    create_wecom_group_messages: true,
    create_wecom_moment_tasks: false,
    wecom_rate_limits: rateLimits,
    link_visitor_oauth: false,
  },
}
const secrets = { contact_secret: true, app_secret: true, agent_id: true, callback_token: true, encoding_aes_key: true, updated_at: null }

describe('TenantSettingsPage', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  const sent: { method: string; path: string; body: unknown }[] = []
  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    sent.length = 0
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname
      const body = req.method === 'GET' ? undefined : await req.clone().json()
      sent.push({ method: req.method, path, body })
      if (path === '/v1/tenant/secrets') return jsonResponse(200, secrets)
      if (path === '/v1/tenant/settings') return jsonResponse(200, body)
      if (path === '/v1/tenant') return jsonResponse(200, tenant)
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  it('fills the form from the tenant and sends back the settings it has no field for', async () => {
    useSessionStore().scopes = ['read', 'write', 'admin']
    const w = mount(TenantSettingsPage, { attachTo: document.body })
    await flushPromises()
    expect(w.text()).toContain('wwtest')
    await w.find('[data-test="tenant-settings-form"]').trigger('submit')
    await flushPromises()
    const put = sent.find((r) => r.method === 'PUT' && r.path === '/v1/tenant/settings')
    expect(put?.body).toEqual(tenant.settings)
  })

  it('reads a missing link_visitor_oauth as on and saves the switch', async () => {
    useSessionStore().scopes = ['read', 'write', 'admin']
    const { link_visitor_oauth: _, ...older } = tenant.settings
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname
      const body = req.method === 'GET' ? undefined : await req.clone().json()
      sent.push({ method: req.method, path, body })
      if (path === '/v1/tenant/secrets') return jsonResponse(200, secrets)
      if (path === '/v1/tenant/settings') return jsonResponse(200, body)
      if (path === '/v1/tenant') return jsonResponse(200, { ...tenant, settings: older })
      return jsonResponse(404, { error: { code: 'not_found', message: path } })
    })
    const w = mount(TenantSettingsPage, { attachTo: document.body })
    await flushPromises()
    const toggle = w.find('[data-test="tenant-link-oauth"]')
    expect(toggle.classes()).toContain('is-checked')
    await toggle.trigger('click')
    await flushPromises()
    expect(toggle.classes()).not.toContain('is-checked')
    await w.find('[data-test="tenant-settings-form"]').trigger('submit')
    await flushPromises()
    const put = sent.find((r) => r.method === 'PUT' && r.path === '/v1/tenant/settings')
    expect(put?.body).toEqual({ ...older, link_visitor_oauth: false })
    // The form keeps what was saved (no read-back another container might answer stale).
    expect(w.find('[data-test="tenant-link-oauth"]').classes()).not.toContain('is-checked')
    expect(sent.filter((r) => r.method === 'GET' && r.path === '/v1/tenant')).toHaveLength(1)
  })

  it('shows the settings read-only to a viewer, without a save button', async () => {
    useSessionStore().scopes = ['read']
    const w = mount(TenantSettingsPage, { attachTo: document.body })
    await flushPromises()
    expect(w.find('[data-test="tenant-save"]').exists()).toBe(false)
    expect(sent.some((r) => r.method === 'PUT')).toBe(false)
  })
})
