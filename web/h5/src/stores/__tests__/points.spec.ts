import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import { isRedemption, usePoints } from '../points'
import { ApiError } from '@/api/errors'

const me = { external_userid: 'wm1', balance: 100, current_streak: 1, longest_streak: 3, total_check_ins: 4, checked_in_today: false, lots: [] }

describe('the points store', () => {
  beforeEach(() => {
    freshPinia()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('checks in, keeps what it paid, and reloads the account and the ledger', async () => {
    let balance = 100
    const calls = stubFetch((c) => {
      if (c.method === 'POST' && c.path === '/customer-api/v1/check-in') {
        balance += 15
        return [200, { seq: 5, kind: 'earn', amount: 15, balance, details: { base: 10, streak_bonus: 5, cumulative_bonus: 0 } }]
      }
      if (c.path === '/customer-api/v1/me') return [200, { ...me, balance, checked_in_today: balance > 100, current_streak: 2 }]
      if (c.path === '/customer-api/v1/me/ledger') {
        return [200, { entries: [{ seq: 5, kind: 'earn', amount: 15, balance_after: balance, reason: 'check_in', created_at: '2026-11-30T01:00:00Z', local_date: '2026-11-30' }], next_cursor: null }]
      }
      return [404, { error: { code: 'not_found', message: 'no' } }]
    })
    const points = usePoints()
    const out = await points.checkIn()
    expect(out.amount).toBe(15)
    expect(points.lastCheckIn?.amount).toBe(15)
    expect(points.me?.balance).toBe(115)
    expect(points.me?.checked_in_today).toBe(true)
    expect([...points.checkInDays]).toEqual(['2026-11-30'])
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1)
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
