import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { looseApi, OWN_AUTHORIZATION, setTokenSource, unwrap } from '@/api/client'

export type Scope = 'read' | 'personal_data:read' | 'write' | 'sessions:issue' | 'admin'
export type Role = 'viewer' | 'operator' | 'admin' | 'session_issuer'

export interface SessionMember {
  userid: string
  name?: string | null
}

/** What the console-session routes answer. */
export interface ConsoleSession {
  token: string
  expires_at: string
  member?: SessionMember | null
  role: Role
  scopes: Scope[]
  corp_id?: string
}

interface Stored extends ConsoleSession {
  corp_id?: string
}

export const SESSION_STORAGE_KEY = 'scrm.console.session'
export const CORP_ID_STORAGE_KEY = 'scrm.console.corpId'

function readStored(): Stored | null {
  try {
    const raw = localStorage.getItem(SESSION_STORAGE_KEY)
    if (!raw) return null
    const parsed = JSON.parse(raw) as Stored
    return typeof parsed.token === 'string' ? parsed : null
  } catch {
    return null
  }
}

export const useSessionStore = defineStore('session', () => {
  const stored = readStored()
  const token = ref<string | null>(stored?.token ?? null)
  const expiresAt = ref<string | null>(stored?.expires_at ?? null)
  const member = ref<SessionMember | null>(stored?.member ?? null)
  const role = ref<Role | null>(stored?.role ?? null)
  const scopes = ref<Scope[]>(stored?.scopes ?? [])
  const corpId = ref<string | null>(stored?.corp_id ?? localStorage.getItem(CORP_ID_STORAGE_KEY))
  const tenantName = ref<string | null>(null)
  /** Why the last session ended, shown once by the login page (an i18n key). */
  const endedReason = ref<string | null>(null)

  /** True while a session is held and its expiry has not passed. */
  function isActive(now: number = Date.now()): boolean {
    if (!token.value) return false
    if (!expiresAt.value) return true
    const end = Date.parse(expiresAt.value)
    return Number.isNaN(end) || end > now
  }
  const loggedIn = computed(() => isActive())

  function can(scope: Scope | undefined | null): boolean {
    if (!scope) return true
    return scopes.value.includes(scope) || scopes.value.includes('admin')
  }

  function adopt(session: ConsoleSession, corp?: string | null): void {
    token.value = session.token
    expiresAt.value = session.expires_at ?? null
    member.value = session.member ?? null
    role.value = session.role
    scopes.value = session.scopes ?? []
    corpId.value = session.corp_id ?? corp ?? corpId.value
    endedReason.value = null
    if (corpId.value) localStorage.setItem(CORP_ID_STORAGE_KEY, corpId.value)
    localStorage.setItem(
      SESSION_STORAGE_KEY,
      JSON.stringify({ ...session, corp_id: corpId.value ?? undefined } satisfies Stored),
    )
  }

  function clear(reason: string | null = null): void {
    token.value = null
    expiresAt.value = null
    member.value = null
    role.value = null
    scopes.value = []
    tenantName.value = null
    endedReason.value = reason
    localStorage.removeItem(SESSION_STORAGE_KEY)
  }

  /**
   * The API refused `refused`, the token a request carried (401): the session ends, saying why,
   * when that is still the session held. A late answer to a request sent before the operator
   * logged in again carries the old token and leaves the new session alone. True if it ended.
   */
  function refusedWith(refused: string | null): boolean {
    if (!token.value || refused !== token.value) return false
    clear('login.expired')
    return true
  }

  function rememberCorpId(corp: string): void {
    corpId.value = corp
    localStorage.setItem(CORP_ID_STORAGE_KEY, corp)
  }

  /** Exchanges the code WeCom's scan login returned for a console session. */
  async function loginWithWeCom(corp: string, code: string): Promise<ConsoleSession> {
    const session = await unwrap<ConsoleSession>(
      looseApi.POST('/v1/console/sessions/wecom', { body: { corp_id: corp, code } }),
    )
    adopt(session, corp)
    return session
  }

  /** Trades an API key (the first admin's, or a developer's) for a console session. */
  async function loginWithKey(apiKey: string): Promise<ConsoleSession> {
    const session = await unwrap<ConsoleSession>(
      looseApi.POST('/v1/console/sessions/key', {
        headers: { Authorization: `Bearer ${apiKey.trim()}`, [OWN_AUTHORIZATION]: '1' },
      }),
    )
    // Keys are `scrm_<corp id>_<secret>`: the corp id is remembered for the next WeCom login.
    const corp = /^scrm_(.+)_[0-9a-f]+$/i.exec(apiKey.trim())?.[1] ?? null
    adopt(session, corp)
    return session
  }

  /** Revokes the session on the server (best effort) and forgets it here. */
  async function logout(): Promise<void> {
    if (token.value) {
      try {
        await looseApi.DELETE('/v1/console/session')
      } catch {
        // Already expired or revoked: nothing more to undo.
      }
    }
    clear(null)
  }

  async function loadTenant(): Promise<void> {
    try {
      const tenant = await unwrap<{ name?: string; corp_id?: string }>(looseApi.GET('/v1/tenant'))
      tenantName.value = tenant?.name || tenant?.corp_id || null
    } catch {
      tenantName.value = null
    }
  }

  return {
    token,
    expiresAt,
    member,
    role,
    scopes,
    corpId,
    tenantName,
    endedReason,
    loggedIn,
    isActive,
    can,
    adopt,
    clear,
    refusedWith,
    rememberCorpId,
    loginWithWeCom,
    loginWithKey,
    logout,
    loadTenant,
  }
})

/** Wires the API client to the store: every request carries the session's token. */
export function connectSessionToClient(store: ReturnType<typeof useSessionStore>): void {
  setTokenSource(() => store.token)
}
