import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import { CHECK_IN_CACHE_KEY, isRedemption, usePoints } from '../points'
import { ApiError } from '@/api/errors'

describe('the points store', () => {
  beforeEach(() => {
    freshPinia()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('checks in, keeps what it paid, and reads the check-in page again', async () => {
    let balance = 100
    const page = { today: '2026-11-30', enabled: true, checked_in_today: false, current_streak: 1, longest_streak: 3, total_check_ins: 4, balance, base_points: 10, next_streak_tier: null, next_cumulative_tier: null, cumulative_period: 'month', period_check_ins: 1, month: '2026-11', days: ['2026-11-29'] }
    const calls = stubFetch((c) => {
      if (c.method === 'POST' && c.path === '/customer-api/v1/check-in') {
        balance += 15
        return [200, { seq: 5, kind: 'earn', amount: 15, balance, details: { date: '2026-11-30', base: 10, streak_bonus: 5, cumulative_bonus: 0 } }]
      }
      if (c.path === '/customer-api/v1/check-in') return [200, { ...page, balance, checked_in_today: balance > 100, current_streak: 2, days: balance > 100 ? ['2026-11-29', '2026-11-30'] : page.days }]
      return [404, { error: { code: 'not_found', message: 'no' } }]
    })
    const points = usePoints()
    await points.loadCheckInPage(undefined, 'wm1')
    expect(JSON.parse(localStorage.getItem(CHECK_IN_CACHE_KEY) ?? '{}').customer).toBe('wm1')
    const out = await points.checkIn('wm1')
    expect(out.amount).toBe(15)
    expect(points.lastCheckIn?.amount).toBe(15)
    expect(points.checkInPage?.balance).toBe(115)
    expect(points.checkInPage?.checked_in_today).toBe(true)
    expect(points.checkInPage?.days).toEqual(['2026-11-29', '2026-11-30'])
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1)
    // The cache holds the page after the check-in, for the next visit.
    expect(JSON.parse(localStorage.getItem(CHECK_IN_CACHE_KEY) ?? '{}').page.checked_in_today).toBe(true)
  })

  it('turns an API refusal into an ApiError with the API message', async () => {
    stubFetch(() => [409, { error: { code: 'rule_disabled', message: 'check-in is not enabled' } }])
    const points = usePoints()
    await expect(points.checkIn()).rejects.toMatchObject({ status: 409, code: 'rule_disabled', message: 'check-in is not enabled' })
  })

  it('sends one Idempotency-Key per attempt, and the same key when a failed attempt is retried', async () => {
    const answers: ([number, unknown] | 'network')[] = [
      'network',
      [200, { seq: 9, kind: 'spend', amount: -50, balance: 50 }],
      [409, { error: { code: 'out_of_stock', message: 'the reward is out of stock' } }],
    ]
    const calls = stubFetch((c) => {
      if (c.path.endsWith('/redeem')) return answers.shift()!
      return [200, { rewards: [] }]
    })
    const points = usePoints()
    points.beginRedeem('r1')
    await expect(points.redeem('r1')).rejects.toMatchObject({ code: 'network' })
    // The same attempt again (the network failed): same key.
    await points.redeem('r1')
    // A new attempt: a new key, whatever the answer.
    points.beginRedeem('r1')
    const err = await points.redeem('r1').catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('out_of_stock')
    const keys = calls.filter((c) => c.path.endsWith('/redeem')).map((c) => c.headers.get('Idempotency-Key'))
    expect(keys).toHaveLength(3)
    expect(keys[0]).toBe(keys[1])
    expect(keys[2]).not.toBe(keys[0])
    expect(keys.every((k) => /^[!-~]{1,128}$/.test(k ?? ''))).toBe(true)
    expect(points.pendingKey('r1')).toBeUndefined()
  })

  it('finds the redemptions in the ledger', () => {
    expect(isRedemption({ seq: 1, kind: 'spend', amount: -5, balance_after: 0, reason: 'redeem', created_at: '', local_date: '', details: { reward_id: 'r1' } })).toBe(true)
    expect(isRedemption({ seq: 2, kind: 'deduct', amount: -5, balance_after: 0, reason: 'operator', created_at: '', local_date: '' })).toBe(false)
  })
})
