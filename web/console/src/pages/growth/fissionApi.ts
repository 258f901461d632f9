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
export type FissionCampaignEdit = components['schemas']['FissionCampaignEdit']
export type CouponList = components['schemas']['CouponList']
export type CouponListInput = components['schemas']['CouponListInput']
export type CouponCodesAdded = components['schemas']['CouponCodesAdded']

const path = (campaign_id: string) => ({ params: { path: { campaign_id } } })

export const fissionApi = {
  list: () => unwrap<{ items: FissionCampaign[] }>(api.GET('/v1/growth/fission-campaigns')),
  get: (id: string) => unwrap<FissionCampaign>(api.GET('/v1/growth/fission-campaigns/{campaign_id}', path(id))),
  /** Creates a campaign; a retry with the same key answers the campaign the first request made. */
  create: (input: FissionCampaignInput, idempotencyKey: string) =>
    unwrap<FissionCampaign>(
      api.POST('/v1/growth/fission-campaigns', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input }),
    ),
  /** Edits a campaign made from `edit.version` (409 version_mismatch when it moved since). */
  edit: (id: string, edit: FissionCampaignEdit) =>
    unwrap<FissionCampaign>(api.PUT('/v1/growth/fission-campaigns/{campaign_id}', { ...path(id), body: edit })),
  end: (id: string) => unwrap<FissionCampaign>(api.POST('/v1/growth/fission-campaigns/{campaign_id}/end', path(id))),
  leaderboard: (id: string, limit = 20) =>
    unwrap<{ items: FissionLeader[] }>(
      api.GET('/v1/growth/fission-campaigns/{campaign_id}/leaderboard', { params: { path: { campaign_id: id }, query: { limit } } }),
    ),
}

const listPath = (list_id: string) => ({ params: { path: { list_id } } })

/** The coupon code lists coupon tiers pay from. */
export const couponApi = {
  lists: () => unwrap<{ items: CouponList[] }>(api.GET('/v1/growth/coupon-lists')),
  get: (id: string) => unwrap<CouponList>(api.GET('/v1/growth/coupon-lists/{list_id}', listPath(id))),
  /** Creates a list with its first codes; a retry with the same key adds what the first did not. */
  create: (input: CouponListInput, idempotencyKey: string) =>
    unwrap<CouponCodesAdded>(
      api.POST('/v1/growth/coupon-lists', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input }),
    ),
  /** Adds codes (CSV text or a list); codes the list has are skipped. */
  addCodes: (id: string, codes: string | string[]) =>
    unwrap<CouponCodesAdded>(api.POST('/v1/growth/coupon-lists/{list_id}/codes', { ...listPath(id), body: { codes } })),
}
