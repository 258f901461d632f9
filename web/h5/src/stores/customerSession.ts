// The customer's session with the customer API, from the official account's web OAuth: the
// page sends the customer to the authorize URL, comes back with a code, and the customer API
// exchanges it for the customer's token (2 hours).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { connectCustomerSession, customerLoose, type CustomerSession, type OfficialOptions } from '@/api/customer'
import { notExpired, readJson, writeJson } from './persist'

export const CUSTOMER_SESSION_KEY = 'scrm.h5.customer'
export const CUSTOMER_CORP_KEY = 'scrm.h5.corpId'

interface Stored extends CustomerSession {
  corp_id: string
}

export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo'

/** The official account's authorize URL for this page (`#wechat_redirect` as WeChat asks). */
export function authorizeUrl(options: OfficialOptions, redirectUri: string, scope: OAuthScope, state: string): string {
  const base = options.authorize_url || 'https://open.weixin.qq.com/connect/oauth2/authorize'
  const query = new URLSearchParams({
    appid: options.app_id ?? '',
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
  })
  return `${base}?${query.toString()}#wechat_redirect`
}

export const useCustomerSession = defineStore('customerSession', () => {
  const stored = readJson<Stored>(CUSTOMER_SESSION_KEY)
  const token = ref<string | null>(stored?.token ?? null)
  const externalUserid = ref<string | null>(stored?.external_userid ?? null)
  const expiresAt = ref<string | null>(stored?.expires_at ?? null)
  const corpId = ref<string | null>(stored?.corp_id ?? localStorage.getItem(CUSTOMER_CORP_KEY))
  const endedReason = ref<string | null>(null)

  const loggedIn = computed(() => !!token.value && notExpired(expiresAt.value))

  function rememberCorp(corp: string): void {
    corpId.value = corp
    localStorage.setItem(CUSTOMER_CORP_KEY, corp)
  }

  async function options(corp: string): Promise<OfficialOptions> {
    return customerLoose.GET<OfficialOptions>('/v1/oauth/official/options', { params: { query: { corp_id: corp } } })
  }

  /** Exchanges the official account's code; throws ApiError `not_a_customer` (404) etc. */
  async function login(corp: string, code: string, scope?: OAuthScope): Promise<void> {
    const session = await customerLoose.POST<CustomerSession>('/v1/oauth/official/session', {
      body: { corp_id: corp, code, ...(scope ? { scope } : {}) },
    })
    rememberCorp(corp)
    token.value = session.token
    externalUserid.value = session.external_userid
    expiresAt.value = session.expires_at
    endedReason.value = null
    writeJson(CUSTOMER_SESSION_KEY, { ...session, corp_id: corp } satisfies Stored)
  }

  function clear(reason: string | null = null): void {
    token.value = null
    externalUserid.value = null
    expiresAt.value = null
    endedReason.value = reason
    writeJson(CUSTOMER_SESSION_KEY, null)
  }

  return { token, externalUserid, expiresAt, corpId, endedReason, loggedIn, rememberCorp, options, login, clear }
})

export function connectCustomerStore(store: ReturnType<typeof useCustomerSession>, ended: () => void): void {
  connectCustomerSession(
    () => store.token,
    () => {
      if (!store.token) return
      store.clear('customer.login.expired')
      ended()
    },
  )
}
