// The customer's points: the account (`/v1/me`), today's check-in and what it just paid,
// the ledger (paged), the rewards and redeeming one. A redemption attempt carries its own
// Idempotency-Key, kept across retries of that attempt (a network failure) and new for the
// next attempt, so a retried request never spends twice.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { customerLoose, type LedgerEntry, type Me, type Outcome, type Reward } from '@/api/customer'

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

  /** Checks in today; a repeat answers the day's check-in (replayed) and pays nothing more. */
  async function checkIn(): Promise<Outcome> {
    const out = await customerLoose.POST<Outcome>('/v1/check-in')
    lastCheckIn.value = out
    if (me.value) {
      me.value = { ...me.value, balance: out.balance, checked_in_today: true }
    }
    await Promise.all([loadMe(), loadLedger()])
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
