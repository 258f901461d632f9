// The staff member's session with the staff API: from a reminder's link or a WeCom OAuth
// code, exchanged once at `POST /v1/session` for a token that lasts an hour.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { connectStaffSession, staffLoose, type StaffSession } from '@/api/staff'
import { notExpired, readJson, writeJson } from './persist'

export const STAFF_SESSION_KEY = 'scrm.h5.staff'

export const useStaffSession = defineStore('staffSession', () => {
  const stored = readJson<StaffSession>(STAFF_SESSION_KEY)
  const token = ref<string | null>(stored?.token ?? null)
  const userid = ref<string | null>(stored?.userid ?? null)
  const expiresAt = ref<string | null>(stored?.expires_at ?? null)
  /** Why the last session ended (an i18n key), shown once by the login page. */
  const endedReason = ref<string | null>(null)

  const loggedIn = computed(() => !!token.value && notExpired(expiresAt.value))

  function adopt(session: StaffSession): void {
    token.value = session.token
    userid.value = session.userid
    expiresAt.value = session.expires_at
    endedReason.value = null
    writeJson(STAFF_SESSION_KEY, session)
  }

  async function loginWithLink(link: string): Promise<void> {
    adopt(await staffLoose.POST<StaffSession>('/v1/session', { body: { link } }))
  }

  async function loginWithCode(corpId: string, code: string): Promise<void> {
    adopt(await staffLoose.POST<StaffSession>('/v1/session', { body: { corp_id: corpId, code } }))
  }

  function clear(reason: string | null = null): void {
    token.value = null
    userid.value = null
    expiresAt.value = null
    endedReason.value = reason
    writeJson(STAFF_SESSION_KEY, null)
  }

  return { token, userid, expiresAt, endedReason, loggedIn, adopt, loginWithLink, loginWithCode, clear }
})

export function connectStaffStore(store: ReturnType<typeof useStaffSession>, ended: () => void): void {
  connectStaffSession(
    () => store.token,
    () => {
      if (!store.token) return
      store.clear('staff.login.expired')
      ended()
    },
  )
}
