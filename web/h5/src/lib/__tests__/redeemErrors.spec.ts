import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { i18n } from '@/i18n'
import { ApiError } from '@/api/errors'
import { REDEEM_ERRORS, redeemFailure } from '../redeemErrors'
import messages from '@/i18n/messages/customer'

const global = i18n.global as unknown as { t: (key: string, values: Record<string, unknown>) => string }
const t = (key: string, values?: Record<string, unknown>) => global.t(key, values ?? {})

describe('what a failed redemption tells the customer', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
  })
  afterEach(() => {
    i18n.global.locale.value = 'zh-CN'
  })

  it('says a known refusal in the page language, without the API message', () => {
    const out = new ApiError(409, 'out_of_stock', 'reward out of stock')
    expect(redeemFailure(out, t)).toBe('这件礼品刚刚兑完了，看看其他礼品吧。')
    expect(redeemFailure(out, t)).not.toContain('reward out of stock')
    i18n.global.locale.value = 'en'
    expect(redeemFailure(out, t)).toBe('This reward has just run out: have a look at the others.')
  })

  it('tells the points available when the API gives them', () => {
    const short = new ApiError(409, 'insufficient_points', 'insufficient points', { available: 40 })
    expect(redeemFailure(short, t)).toBe('积分不足：你现在有 40 积分。多签到几天再来兑换吧。')
    expect(redeemFailure(new ApiError(409, 'insufficient_points', 'insufficient points'), t)).toBe('积分不足，多签到几天再来兑换吧。')
  })

  it('shows the API message only for a code it does not know', () => {
    expect(redeemFailure(new ApiError(409, 'brand_new_code', 'something new happened'), t)).toBe('something new happened')
    expect(redeemFailure(new Error('boom'), t)).toBe('boom')
  })

  it('has every known refusal in both languages', () => {
    for (const key of new Set(Object.values(REDEEM_ERRORS))) {
      expect(messages['zh-CN'].customer.rewards.errors).toHaveProperty(key)
      expect(messages.en.customer.rewards.errors).toHaveProperty(key)
    }
  })
})
