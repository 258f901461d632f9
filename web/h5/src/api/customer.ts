// The customer API (docs/customer-api.yaml): a customer's token from the official account's
// login rides every call; a 401 ends the customer's session.
import type { components, paths } from './customer-schema'
import { config, configReady } from '@/config'
import { lazyClient, sessionMiddleware, type ApiError } from './http'

let token: () => string | null = () => null
let onUnauthenticated: (e: ApiError) => void = () => {}
export function connectCustomerSession(source: () => string | null, ended: (e: ApiError) => void): void {
  token = source
  onUnauthenticated = ended
}

const client = lazyClient<paths>(
  () => config().customerApiBase,
  sessionMiddleware(
    () => token(),
    (e) => onUnauthenticated(e),
    /\/v1\/oauth\//,
  ),
  configReady,
)

/** Typed by the spec's paths. */
export const customerApi = client.typed
/** The same, untyped: most bodies of the spec are given in prose. */
export const customerLoose = client.loose

/** An entry of the customer's ledger (`GET /v1/me/ledger`). */
export interface LedgerEntry {
  seq: number
  kind: 'earn' | 'import' | 'spend' | 'deduct' | 'clear' | 'expire' | 'zero_on_leave'
  /** Signed: positive for earn/import, negative otherwise. */
  amount: number
  balance_after: number
  /** Why: `check_in`, `newcomer`, `redeem`, `profile`, `follow_official_account`... */
  reason: string
  source?: string
  created_at: string
  /** The tenant-local day it counts for ("YYYY-MM-DD"). */
  local_date: string
  details?: Record<string, unknown> | null
}

/** `GET /v1/me`. */
export interface Me {
  external_userid: string
  balance: number
  current_streak: number
  longest_streak: number
  total_check_ins: number
  checked_in_today: boolean
  lots: { expires_on: string | null; points: number }[]
}

/** A ledger write's result (check-in, redeem, profile reward, follow). */
export interface Outcome {
  seq: number | null
  kind: string
  amount: number
  balance: number
  details?: Record<string, unknown>
  replayed?: boolean
}

/** A reward of the mall (`GET /v1/rewards`): its cost, the units left and whether any is. */
export type Reward = components['schemas']['Reward']

/** `GET /v1/check-in`: everything the check-in page shows, in one read. */
export type CheckInPageData = components['schemas']['CheckInPage']
export type NextTier = components['schemas']['NextTier']

/** `GET /v1/oauth/official/options?corp_id=`. */
export interface OfficialOptions {
  configured: boolean
  app_id?: string | null
  authorize_url?: string | null
  scopes?: string[]
}

/** `POST /v1/oauth/official/session`: the customer's token. */
export interface CustomerSession {
  token: string
  expires_at: string
  external_userid: string
}
