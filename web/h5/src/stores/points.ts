// The customer's points: the account (`/v1/me`), today's check-in and what it just paid,
// the ledger (paged), the rewards and redeeming one. A redemption attempt carries its own
// Idempotency-Key, kept across retries of that attempt (a network failure) and new for the
// next attempt, so a retried request never spends twice.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { customerLoose, type CheckInPageData, type LedgerEntry, type Me, type Outcome, type Reward } from '@/api/customer'
import { readJson, writeJson } from './persist'
import { addDays } from '@/lib/calendar'

/** Where the last check-in page read is kept, per customer (see `cachedCheckInPage`). */
export const CHECK_IN_CACHE_KEY = 'scrm.h5.checkIn'

interface CachedPage {
  customer: string
  page: CheckInPageData
}

/**
 * The customer's last check-in page read, shown at once on the next visit while the API is
 * asked again (the page is opened daily). It is only a picture of the past: a day later it
 * may say "checked in today" wrongly, so the button trusts it only for the same day (see
 * `stalePage`), and a check-in is always the server's answer (idempotent per day).
 */
export function cachedCheckInPage(customer: string | null): CheckInPageData | null {
  const cached = readJson<CachedPage>(CHECK_IN_CACHE_KEY)
  return customer && cached?.customer === customer ? cached.page : null
}

/** A cached page read on an earlier day than `localToday`: today's check-in state unknown. */
export function stalePage(page: CheckInPageData, localToday: string): CheckInPageData {
  if (page.today >= localToday) return page
  // Checked in on the day before: the streak is still alive today; anything older broke it.
  const alive = page.checked_in_today && addDays(page.today, 1) === localToday
  return { ...page, today: localToday, checked_in_today: false, current_streak: alive ? page.current_streak : 0 }
}

/** A fresh Idempotency-Key (visible ASCII, ≤ 128). */
export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return `redeem-${crypto.randomUUID()}`
  return `redeem-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/** The tenant-local day an entry counts for. */
export function entryDay(e: LedgerEntry): string | null {
  return e.local_date || null
}

export function isCheckIn(e: LedgerEntry): boolean {
  return e.kind === 'earn' && e.reason === 'check_in'
}

export function isRedemption(e: LedgerEntry): boolean {
  return e.kind === 'spend' && (e.reason === 'redeem' || !!e.details?.reward_id)
}

export const usePoints = defineStore('points', () => {
  const me = ref<Me | null>(null)
  /** The check-in page's read (`GET /v1/check-in`), for the month it names. */
  const checkInPage = ref<CheckInPageData | null>(null)
  const lastCheckIn = ref<Outcome | null>(null)
  const entries = ref<LedgerEntry[]>([])
  const cursor = ref<string | null>(null)
  const ledgerLoaded = ref(false)
  const rewards = ref<Reward[]>([])
  /** The pending attempt's key per reward: reused only when that same attempt is retried. */
  const attempts = new Map<string, string>()

  const checkInDays = computed(() => {
    const days = new Set<string>()
    for (const e of entries.value) if (isCheckIn(e)) days.add(entryDay(e) ?? '')
    days.delete('')
    return days
  })
  const redemptions = computed(() => entries.value.filter(isRedemption))

  async function loadMe(): Promise<Me> {
    me.value = await customerLoose.GET<Me>('/v1/me')
    return me.value
  }

  async function loadLedger(more = false): Promise<void> {
    const page = await customerLoose.GET<{ entries: LedgerEntry[]; next_cursor: string | null }>('/v1/me/ledger', {
      params: { query: { limit: 50, ...(more && cursor.value ? { cursor: cursor.value } : {}) } },
    })
    entries.value = more ? [...entries.value, ...page.entries] : page.entries
    cursor.value = page.next_cursor ?? null
    ledgerLoaded.value = true
  }

  /**
   * Reads the check-in page for `month` (`YYYY-MM`; the tenant's current month by default).
   * The current month's read is kept for the next visit under `customer`.
   */
  async function loadCheckInPage(month?: string, customer?: string | null): Promise<CheckInPageData> {
    const page = await customerLoose.GET<CheckInPageData>('/v1/check-in', {
      params: { query: month ? { month } : {} },
    })
    checkInPage.value = page
    if (customer && page.month === page.today.slice(0, 7)) writeJson(CHECK_IN_CACHE_KEY, { customer, page } satisfies CachedPage)
    if (me.value) me.value = { ...me.value, balance: page.balance, checked_in_today: page.checked_in_today, current_streak: page.current_streak }
    return page
  }

  /** Shows a cached read until the API answers. */
  function showCachedCheckInPage(page: CheckInPageData): void {
    if (!checkInPage.value) checkInPage.value = page
  }

  /**
   * Checks in today; a repeat answers the day's check-in (replayed) and pays nothing more.
   * The page's figures (streak, next tier, calendar) are read again afterwards.
   */
  async function checkIn(customer?: string | null): Promise<Outcome> {
    const out = await customerLoose.POST<Outcome>('/v1/check-in')
    lastCheckIn.value = out
    if (me.value) {
      me.value = { ...me.value, balance: out.balance, checked_in_today: true }
    }
    if (checkInPage.value) {
      const day = (out.details as { date?: string } | undefined)?.date
      const days = day && !checkInPage.value.days.includes(day) ? [...checkInPage.value.days, day].sort() : checkInPage.value.days
      checkInPage.value = { ...checkInPage.value, balance: out.balance, checked_in_today: true, days }
    }
    const month = checkInPage.value && checkInPage.value.month !== checkInPage.value.today.slice(0, 7) ? checkInPage.value.month : undefined
    await loadCheckInPage(month, customer).catch(() => {})
    return out
  }

  async function loadRewards(): Promise<void> {
    rewards.value = (await customerLoose.GET<{ rewards: Reward[] }>('/v1/rewards')).rewards
  }

  /** Starts a new redemption attempt of `rewardId` (after the customer confirmed). */
  function beginRedeem(rewardId: string): string {
    const key = newIdempotencyKey()
    attempts.set(rewardId, key)
    return key
  }

  /** Redeems with the current attempt's key; the attempt ends whatever the API answered. */
  async function redeem(rewardId: string): Promise<Outcome> {
    const key = attempts.get(rewardId) ?? beginRedeem(rewardId)
    try {
      const out = await customerLoose.POST<Outcome>('/v1/rewards/{reward_id}/redeem', {
        params: { path: { reward_id: rewardId } },
        headers: { 'Idempotency-Key': key },
      })
      attempts.delete(rewardId)
      if (me.value) me.value = { ...me.value, balance: out.balance }
      return out
    } catch (e) {
      // A network failure keeps the key: retrying the same attempt must not spend twice.
      if ((e as { code?: string }).code !== 'network') attempts.delete(rewardId)
      throw e
    } finally {
      await loadRewards().catch(() => {})
    }
  }

  function pendingKey(rewardId: string): string | undefined {
    return attempts.get(rewardId)
  }

  return {
    me,
    checkInPage,
    loadCheckInPage,
    showCachedCheckInPage,
    lastCheckIn,
    entries,
    cursor,
    ledgerLoaded,
    rewards,
    checkInDays,
    redemptions,
    loadMe,
    loadLedger,
    checkIn,
    loadRewards,
    beginRedeem,
    redeem,
    pendingKey,
  }
})
