import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { freshPinia } from '@/test/setup'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { useSessionStore } from '@/stores/session'
import TenantSecretsForm from '../TenantSecretsForm.vue'
import { secretsBody, secretsProblems, type SecretsInput } from '../secretsModel'

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'
const empty: SecretsInput = { contact_secret: '', app_secret: '', agent_id: '', callback_token: '', encoding_aes_key: '' }
const allSet = { contact_secret: true, app_secret: true, agent_id: true, callback_token: true, encoding_aes_key: true, updated_at: null }

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('the secrets form rules', () => {
  it('sends only the fields filled in, the agent id as a number', () => {
    expect(secretsBody({ ...empty, app_secret: 's3cret', agent_id: '1000002' })).toEqual({ app_secret: 's3cret', agent_id: 1000002 })
    expect(secretsBody(empty)).toEqual({})
  })

  it('names the fields out of shape, as the API checks them', () => {
    expect(secretsProblems({ ...empty, encoding_aes_key: KEY, callback_token: 'Tok3n' })).toEqual([])
    expect(
      secretsProblems({ contact_secret: 'has space', app_secret: 'x'.repeat(129), agent_id: '2147483648', callback_token: 'ab', encoding_aes_key: KEY.slice(1) }),
    ).toEqual(['contact_secret', 'app_secret', 'agent_id', 'callback_token', 'encoding_aes_key'])
    expect(secretsProblems({ ...empty, agent_id: '0' })).toEqual(['agent_id'])
  })
})

describe('TenantSecretsForm', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  beforeEach(() => {
    localStorage.clear()
    freshPinia()
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    document.body.innerHTML = ''
  })

  it('shows the status only, and replaces a secret after a confirmation', async () => {
    useSessionStore().scopes = ['read', 'write', 'admin']
    fetchMock.mockResolvedValueOnce(jsonResponse(200, { ...allSet, app_secret: false }))
    const w = mount(TenantSecretsForm, { attachTo: document.body })
    await flushPromises()
    expect(w.find('[data-test="secret-status-app_secret"]').text()).toContain('未配置')
    expect(w.find('[data-test="secret-status-contact_secret"]').text()).toContain('已配置')
    const inputs = w.findAll('[data-test="secrets-form"] input')
    expect(inputs.every((i) => (i.element as HTMLInputElement).value === '')).toBe(true)
    const app = w.find('[data-test="secret-input-app_secret"] input, input[data-test="secret-input-app_secret"]')
    expect(app.attributes('type')).toBe('password')
    expect(w.find('[data-test="secrets-replace"]').attributes('disabled')).toBeDefined()

    await app.setValue('new-app-secret')
    fetchMock.mockResolvedValueOnce(jsonResponse(200, { ...allSet, updated_at: '2026-03-01T02:00:00Z' }))
    await w.find('[data-test="secrets-replace"]').trigger('click')
    await flushPromises()
    expect(document.body.querySelector('[data-test="confirm-message"]')?.textContent).toContain('自建应用 Secret')
    expect(fetchMock).toHaveBeenCalledTimes(1)
    ;(document.body.querySelector('[data-test="confirm-proceed"]') as HTMLElement).click()
    await flushPromises()
    const put = fetchMock.mock.calls[1][0]
    expect(put.method).toBe('PUT')
    expect(await put.json()).toEqual({ app_secret: 'new-app-secret' })
    expect(w.find('[data-test="secret-status-app_secret"]').text()).toContain('已配置')
    expect((app.element as HTMLInputElement).value).toBe('')
    w.unmount()
  })

  it('keeps the dialog open with the API message when the change is refused', async () => {
    useSessionStore().scopes = ['read', 'write', 'admin']
    fetchMock.mockResolvedValueOnce(jsonResponse(200, allSet))
    const w = mount(TenantSecretsForm, { attachTo: document.body })
    await flushPromises()
    await w.find('[data-test="secret-input-contact_secret"] input, input[data-test="secret-input-contact_secret"]').setValue('c')
    fetchMock.mockResolvedValueOnce(jsonResponse(400, { error: { code: 'validation_failed', message: 'contact_secret is wrong' } }))
    await w.find('[data-test="secrets-replace"]').trigger('click')
    await flushPromises()
    ;(document.body.querySelector('[data-test="confirm-proceed"]') as HTMLElement).click()
    await flushPromises()
    expect(document.body.querySelector('[data-test="confirm-error"]')?.textContent).toContain('contact_secret is wrong')
    w.unmount()
  })

  it('has no form for viewers', async () => {
    useSessionStore().scopes = ['read']
    fetchMock.mockResolvedValueOnce(jsonResponse(200, allSet))
    const w = mount(TenantSecretsForm)
    await flushPromises()
    expect(w.find('[data-test="secrets-form"]').exists()).toBe(false)
    expect(w.find('[data-test="secrets-status"]').exists()).toBe(true)
    w.unmount()
  })
})
