// The points pages' calls to the admin API, with the shapes of the answers the spec
// describes in prose. Typed by the generated client where the spec types the request.
import { api, looseApi as loose, unwrap } from '@/api/client'
import type { RulesDoc } from './rulesModel'
import type { BulkOperation } from './bulkModel'

export interface Summary {
  total: number
  applied: number
  already_applied: number
  rejected: number
  points: number
}

export interface ItemResult {
  external_userid: string
  line?: number
  status: 'applied' | 'already_applied' | 'rejected'
  code?: string
  amount: number
  balance?: number
}

export interface PointsJob {
  job_id: string
  op: 'award' | 'deduct' | 'clear' | 'import'
  status: 'pending' | 'running' | 'done'
  total: number
  chunks: number
  next_chunk: number
  progress: Summary
  origin?: { reason: string; source: string; operator: string }
  created_at: string
  updated_at: string
}

/** A bulk order's answer: inline results (200) or the job that runs it (202). */
export type OrderAnswer =
  | ({ mode: 'inline'; summary: Summary; results: ItemResult[]; replayed: boolean } & Record<string, unknown>)
  | ({ mode: 'job'; job: PointsJob } & Record<string, unknown>)

export interface Reward {
  reward_id: string
  name: string
  description?: string | null
  cost: number
  stock: number
  redeemed: number
  active: boolean
  created_at?: string
  updated_at?: string
}

export interface Redemption {
  reward_id: string
  reward_name: string
  external_userid: string
  cost: number
  seq: number
  redeemed_at: string
}

export interface CheckInRate {
  chat_id: string
  name?: string | null
  customers: number
  checked_in: number
  rate: number
}

export interface PointsDay {
  date: string
  issued: number
  spent: number
  expired: number
  removed: number
  by_kind?: Record<string, { entries: number; points: number }>
}

export interface PointsAccount {
  external_userid: string
  name?: string | null
  balance: number
  /** Lifetime totals; null for an account whose first entries predate them. */
  earned: number | null
  spent: number | null
  expired: number | null
  last_check_in?: string | null
  current_streak?: number
  longest_streak?: number
  total_check_ins?: number
}

export type AccountSort = 'balance' | 'earned' | 'spent' | 'expired' | 'last_check_in' | 'streak'
/** The orders served from the latest ranking snapshot (no live index holds them). */
export const RANKED_SORTS: readonly AccountSort[] = ['earned', 'spent', 'expired', 'streak']

/** A job that ranks every account by earned, spent, expired and streak. */
export interface RankingJob {
  job_id: string
  status: 'pending' | 'running' | 'done'
  day: string
  shards_done: number
  shards: number
  accounts_read: number
  total_estimate: number
  requested_by?: string
  created_at: string
  updated_at: string
}

/** The ranking the list sorts by (if any) and the one being built (if any). */
export interface RankingStatus {
  ranked: { job_id: string; ranked_at: string; day: string; accounts: number } | null
  building: RankingJob | null
}

export interface GroupLite {
  chat_id: string
  name?: string | null
  owner?: string | null
  member_count?: number
}

export const pointsApi = {
  rules: () => unwrap<RulesDoc>(api.GET('/v1/points/rules')),
  saveRules: (doc: RulesDoc) =>
    unwrap<RulesDoc>(api.PUT('/v1/points/rules', { body: doc as never })),
  previewRules: (rules: RulesDoc, scenario: Record<string, unknown>) =>
    unwrap<unknown>(loose.POST('/v1/points/rules/preview', { body: { rules, scenario } })),

  bulk: (operation: BulkOperation, ids: string[], points: number | null, reason: string | null, key: string) =>
    unwrap<OrderAnswer>(
      api.POST('/v1/points/bulk', {
        params: { header: { 'Idempotency-Key': key } },
        body: {
          operation,
          external_userids: ids,
          ...(operation === 'clear' ? {} : { points: points ?? 0 }),
          reason: reason || null,
        },
      }),
    ),
  groupAward: (chatIds: string[], points: number, reason: string | null, key: string) =>
    unwrap<OrderAnswer & { groups?: number; customers?: number }>(
      api.POST('/v1/points/group-awards', {
        params: { header: { 'Idempotency-Key': key } },
        body: { chat_ids: chatIds, points, reason: reason || null },
      }),
    ),
  importCsv: (file: string, reason: string | null) =>
    unwrap<OrderAnswer & { file_sha256?: string; rows?: number }>(
      api.POST('/v1/points/imports', {
        params: { query: reason ? { reason } : {} },
        body: file as never,
        bodySerializer: (b: unknown) => b as string,
        headers: { 'Content-Type': 'text/csv' },
      }),
    ),
  jobs: (limit = 50) =>
    unwrap<{ jobs: PointsJob[] }>(api.GET('/v1/points/jobs', { params: { query: { limit } } })),
  job: (jobId: string, chunk?: number) =>
    unwrap<{ job: PointsJob; chunk?: { n: number; results: ItemResult[] } }>(
      api.GET('/v1/points/jobs/{job_id}', {
        params: { path: { job_id: jobId }, query: chunk == null ? {} : { chunk } },
      }),
    ),

  rewards: () => unwrap<{ rewards: Reward[] }>(api.GET('/v1/points/rewards')),
  createReward: (r: { name: string; description: string | null; cost: number; stock: number; active: boolean }, key: string) =>
    unwrap<Reward>(
      api.POST('/v1/points/rewards', { params: { header: { 'Idempotency-Key': key } }, body: r }),
    ),
  updateReward: (
    rewardId: string,
    change: { name?: string; description?: string | null; cost?: number; active?: boolean; add_stock?: number },
    key?: string,
  ) =>
    unwrap<Reward>(
      api.PATCH('/v1/points/rewards/{reward_id}', {
        params: { path: { reward_id: rewardId }, header: key ? { 'Idempotency-Key': key } : {} },
        body: change,
      }),
    ),
  redemptions: (rewardId: string, limit = 200) =>
    unwrap<{ redemptions: Redemption[] }>(
      api.GET('/v1/points/rewards/{reward_id}/redemptions', {
        params: { path: { reward_id: rewardId }, query: { limit } },
      }),
    ),

  checkInRates: (date: string | undefined, limit = 100) =>
    unwrap<{ date: string; groups: CheckInRate[]; groups_total: number }>(
      api.GET('/v1/points/check-in-rates', { params: { query: { ...(date ? { date } : {}), limit } } }),
    ),
  day: (date: string) =>
    unwrap<PointsDay>(api.GET('/v1/points/days/{date}', { params: { path: { date } } })),

  accounts: (query: { sort?: AccountSort; order?: 'asc' | 'desc'; q?: string; name?: string; cursor?: string | null; limit?: number }) =>
    unwrap<{ accounts?: PointsAccount[]; items?: PointsAccount[]; next_cursor?: string | null; ranked_at?: string }>(
      loose.GET('/v1/points/accounts', {
        params: { query: Object.fromEntries(Object.entries(query).filter(([, v]) => v != null && v !== '')) },
      }),
    ),
  rankings: () => unwrap<RankingStatus>(api.GET('/v1/points/accounts/rankings')),
  requestRanking: (key: string) =>
    unwrap<{ job: RankingJob }>(
      api.POST('/v1/points/accounts/rankings', { params: { header: { 'Idempotency-Key': key } } }),
    ),
  rankingJob: (jobId: string) =>
    unwrap<{ job: RankingJob }>(
      api.GET('/v1/points/accounts/rankings/{job_id}', { params: { path: { job_id: jobId } } }),
    ),
  /** One part of the CSV export (at most 5000 rows) and the cursor of the next, if rows remain. */
  accountsCsv: async (query: { sort?: AccountSort; order?: 'asc' | 'desc'; q?: string; name?: string; cursor?: string | null }) => {
    const { data, response } = await loose.GET('/v1/points/accounts.csv', {
      params: { query: Object.fromEntries(Object.entries(query).filter(([, v]) => v != null && v !== '')) },
      parseAs: 'text',
    } as never)
    return { text: data as string, next: response.headers.get('X-Next-Cursor') }
  },

  /** Every group (page by page, at most `max`), for pickers. */
  allGroups: async (max = 1000): Promise<GroupLite[]> => {
    const out: GroupLite[] = []
    let cursor: string | undefined
    do {
      const page = await unwrap<{ items?: GroupLite[]; next_cursor?: string | null }>(
        api.GET('/v1/groups', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
      )
      out.push(...(page.items ?? []))
      cursor = page.next_cursor ?? undefined
    } while (cursor && out.length < max)
    return out
  },
}
