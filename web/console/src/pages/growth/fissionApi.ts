// The fission campaign pages' calls to the admin API (任务宝 / 邀请有礼), typed by the
// generated client.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type FissionCampaign = components['schemas']['FissionCampaign']
export type FissionCampaignInput = components['schemas']['FissionCampaignInput']
export type FissionTier = components['schemas']['FissionTier']
export type FissionPoster = components['schemas']['FissionPoster']
export type FissionFigures = components['schemas']['FissionFigures']
export type FissionLeader = components['schemas']['FissionLeader']

const path = (campaign_id: string) => ({ params: { path: { campaign_id } } })

export const fissionApi = {
  list: () => unwrap<{ items: FissionCampaign[] }>(api.GET('/v1/growth/fission-campaigns')),
  get: (id: string) => unwrap<FissionCampaign>(api.GET('/v1/growth/fission-campaigns/{campaign_id}', path(id))),
  /** Creates a campaign; a retry with the same key answers the campaign the first request made. */
  create: (input: FissionCampaignInput, idempotencyKey: string) =>
    unwrap<FissionCampaign>(
      api.POST('/v1/growth/fission-campaigns', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input }),
    ),
  end: (id: string) => unwrap<FissionCampaign>(api.POST('/v1/growth/fission-campaigns/{campaign_id}/end', path(id))),
  leaderboard: (id: string, limit = 20) =>
    unwrap<{ items: FissionLeader[] }>(
      api.GET('/v1/growth/fission-campaigns/{campaign_id}/leaderboard', { params: { path: { campaign_id: id }, query: { limit } } }),
    ),
}
