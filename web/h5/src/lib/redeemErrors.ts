// What a failed redemption tells the customer. The customer API's refusals have stable codes
// (docs/customer-api.yaml); the ones a customer can meet are said in the page's language, with
// the figures the API gives (the points available). Only a code the page does not know shows
// the API's own message (English), so nothing is hidden either.
import { ApiError, errorMessage } from '@/api/errors'

type Translate = (key: string, values?: Record<string, unknown>) => string

/** The i18n key of each known refusal, under `customer.rewards.errors`. */
export const REDEEM_ERRORS: Record<string, string> = {
  out_of_stock: 'outOfStock',
  insufficient_points: 'insufficient',
  reward_inactive: 'inactive',
  not_found: 'inactive',
  idempotency_key_reused: 'retry',
  network: 'network',
  unavailable: 'unavailable',
  internal: 'unavailable',
}

/** The message for `e`, thrown by a redemption. */
export function redeemFailure(e: unknown, t: Translate): string {
  if (e instanceof ApiError && e.code in REDEEM_ERRORS) {
    const key = `customer.rewards.errors.${REDEEM_ERRORS[e.code]}`
    if (e.code === 'insufficient_points') {
      const available = (e.details as { available?: unknown } | null)?.available
      if (typeof available === 'number') return t('customer.rewards.errors.insufficientHave', { n: available })
    }
    return t(key)
  }
  return errorMessage(e)
}
