import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshPinia } from '@/test/setup'
import { CORP_ID_STORAGE_KEY, SESSION_STORAGE_KEY, connectSessionToClient, useSessionStore } from '@/stores/session'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'

const session = {
  token: 'sess_abc',
  expires_at: '2999-01-01T00:00:00Z',
  member: { userid: 'zhangsan', name: '张三' },
  role: 'operator' as const,
  scopes: ['read', 'personal_data:read', 'write', 'sessions:issue'] as const,
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('session store', () => {
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
  })

  it('logs in with a WeCom code, keeps the session and remembers the corp id', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { ...session, scopes: [...session.scopes] }))
    const store = useSessionStore()
    await store.loginWithWeCom('ww123', 'CODE')
    const req = fetchMock.mock.calls[0][0]
    expect(req.url).toBe('http://api.test/v1/console/sessions/wecom')
    expect(await req.json()).toEqual({ corp_id: 'ww123', code: 'CODE' })
    expect(store.loggedIn).toBe(true)
    expect(store.member?.name).toBe('张三')
    expect(localStorage.getItem(CORP_ID_STORAGE_KEY)).toBe('ww123')
    // A reload finds the same session.
    freshPinia()
    expect(useSessionStore().token).toBe('sess_abc')
  })

  it('can(scope) follows the scopes, and admin reaches everything', () => {
    const store = useSessionStore()
    store.adopt({ ...session, scopes: ['read'] })
    expect(store.can('read')).toBe(true)
    expect(store.can('write')).toBe(false)
    expect(store.can(undefined)).toBe(true)
    store.adopt({ ...session, role: 'admin', scopes: ['admin'] })
    expect(store.can('write')).toBe(true)
  })

  it('an API-key login sends the key, not a session token, and learns the corp id from it', async () => {
    fetchMock.mockResolvedValue(jsonResponse(201, { ...session, member: null, role: 'admin', scopes: ['admin'] }))
    const store = useSessionStore()
    connectSessionToClient(store)
    await store.loginWithKey(' scrm_wwcorp9_' + 'a'.repeat(64) + ' ')
    const req = fetchMock.mock.calls[0][0]
    expect(req.headers.get('Authorization')).toBe('Bearer scrm_wwcorp9_' + 'a'.repeat(64))
    expect(req.headers.has('X-Console-Own-Authorization')).toBe(false)
    expect(store.corpId).toBe('wwcorp9')
  })

  it('a refused login keeps no session and shows the API code', async () => {
    fetchMock.mockResolvedValue(jsonResponse(403, { error: { code: 'no_role', message: 'zhangsan has no role' } }))
    const store = useSessionStore()
    await expect(store.loginWithWeCom('ww123', 'CODE')).rejects.toMatchObject({ code: 'no_role' })
    expect(store.loggedIn).toBe(false)
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).toBeNull()
  })

  it('an expired session is not active', () => {
    const store = useSessionStore()
    store.adopt({ ...session, scopes: ['read'], expires_at: '2020-01-01T00:00:00Z' })
    expect(store.isActive()).toBe(false)
    expect(store.isActive(Date.parse('2019-12-31T00:00:00Z'))).toBe(true)
  })

  it('a refusal ends the session it names, and only that one', () => {
    const store = useSessionStore()
    store.adopt({ ...session, scopes: ['read'], token: 'sess_new' })
    // A late answer to a request sent with the session before this login.
    expect(store.refusedWith('sess_abc')).toBe(false)
    expect(store.refusedWith(null)).toBe(false)
    expect(store.token).toBe('sess_new')
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).not.toBeNull()
    expect(store.refusedWith('sess_new')).toBe(true)
    expect([store.token, store.endedReason]).toEqual([null, 'login.expired'])
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).toBeNull()
    // Every other answer refusing it finds it ended already.
    expect(store.refusedWith('sess_new')).toBe(false)
  })

  it('logout revokes the session on the server and forgets it', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }))
    const store = useSessionStore()
    connectSessionToClient(store)
    store.adopt({ ...session, scopes: ['read'] })
    await store.logout()
    const req = fetchMock.mock.calls[0][0]
    expect(req.method).toBe('DELETE')
    expect(req.url).toBe('http://api.test/v1/console/session')
    expect(req.headers.get('Authorization')).toBe('Bearer sess_abc')
    expect(store.token).toBeNull()
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).toBeNull()
  })
})
