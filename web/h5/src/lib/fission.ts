// A fission campaign (邀请有礼) as its inviter sees it: the customer API's calls and what the
// page derives from the answer: each tier's mark (paid, reached and waiting for the hold,
// earned but waiting for stock, or how many invites are still missing) and the progress bar's
// fill.
import type { components } from '@/api/customer-schema'
import { customerApi } from '@/api/customer'
import { apiErrorFrom, ApiError } from '@/api/errors'
import { config, configReady } from '@/config'

export type FissionCode = components['schemas']['FissionCode']
/** A tier's reward: the spec describes it in prose. */
export type TierReward = { kind: 'points'; points: number } | { kind: 'reward'; reward_id: string } | { kind: 'coupon'; list_id: string }
export type FissionPageData = Omit<components['schemas']['FissionPage'], 'tiers'> & {
  tiers: { invites: number; reward: TierReward }[]
}

export async function fissionPage(campaignId: string): Promise<FissionPageData> {
  await configReady()
  const { data } = await customerApi.GET('/v1/fission/{campaign_id}', { params: { path: { campaign_id: campaignId } } })
  return data as FissionPageData
}

/** Takes the caller's personal code (created once, the same one after). */
export async function takeCode(campaignId: string): Promise<FissionCode> {
  await configReady()
  const { data } = await customerApi.POST('/v1/fission/{campaign_id}/code', { params: { path: { campaign_id: campaignId } } })
  return data as FissionCode
}

/**
 * The caller's poster as a picture: the API answers SVG behind the bearer token, which an
 * `<img src>` cannot send, so it is fetched here and handed to the page as a blob. A 401
 * ends the session like any other call (`onUnauthenticated`).
 */
export async function posterBlob(campaignId: string, token: string | null, onUnauthenticated: () => void = () => {}): Promise<Blob> {
  await configReady()
  const base = config().customerApiBase.replace(/\/$/, '')
  const url = new URL(`${base}/v1/fission/${encodeURIComponent(campaignId)}/poster`, globalThis.location?.href ?? 'http://localhost/')
  let response: Response
  try {
    response = await globalThis.fetch(new Request(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} }))
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e))
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null)
    if (response.status === 401) onUnauthenticated()
    throw apiErrorFrom(response.status, body, response.statusText)
  }
  const blob = await response.blob()
  // The picture is SVG whatever the proxy says: an <img> draws a blob by its type.
  return blob.type ? blob : new Blob([blob], { type: 'image/svg+xml' })
}

/**
 * The poster as a PNG, drawn from its SVG on a canvas: WeChat offers "recognise the QR code"
 * and saving to the album on a long-pressed raster picture, not on an SVG. Null when the
 * browser cannot draw it (no canvas, the picture does not load, a tainted canvas): the page
 * then shows the SVG itself.
 */
export async function rasterize(svg: Blob, timeoutMs = 8000): Promise<Blob | null> {
  const canvas = document.createElement('canvas')
  const ctx = canvas.getContext?.('2d')
  if (!ctx) return null
  const url = URL.createObjectURL(svg)
  try {
    const img = await new Promise<HTMLImageElement | null>((resolve) => {
      const image = new Image()
      const timer = setTimeout(() => resolve(null), timeoutMs)
      image.onload = () => {
        clearTimeout(timer)
        resolve(image)
      }
      image.onerror = () => {
        clearTimeout(timer)
        resolve(null)
      }
      image.src = url
    })
    if (!img || !img.naturalWidth || !img.naturalHeight) return null
    canvas.width = img.naturalWidth
    canvas.height = img.naturalHeight
    ctx.drawImage(img, 0, 0)
    return await new Promise<Blob | null>((resolve) => {
      try {
        canvas.toBlob((b) => resolve(b), 'image/png')
      } catch {
        resolve(null)
      }
    })
  } catch {
    return null
  } finally {
    URL.revokeObjectURL(url)
  }
}

export type TierMark = 'paid' | 'stock' | 'reached' | 'open'
export type MyCoupon = FissionPageData['me']['coupons'][number]

/**
 * Where the caller stands at each tier: `paid` once paid; `stock` when earned but its reward
 * is out of stock (paid after a restock); `reached` when their invites, pending ones
 * included, reach it but it is not paid yet (the hold has to pass); else `open` with the
 * invites still missing.
 */
export function tierMarks(page: Pick<FissionPageData, 'tiers' | 'me'>): { mark: TierMark; missing: number }[] {
  const counted = page.me.pending + page.me.confirmed
  const paid = new Set(page.me.paid)
  const waiting = new Set(page.me.waiting ?? [])
  return page.tiers.map((tier, i) => {
    if (paid.has(i)) return { mark: 'paid', missing: 0 }
    if (waiting.has(i)) return { mark: 'stock', missing: 0 }
    if (i < page.me.reached) return { mark: 'reached', missing: 0 }
    return { mark: 'open', missing: Math.max(0, tier.invites - counted) }
  })
}

/** The progress bar's fill, 0–100: invites counted against the last tier. */
export function progressPercent(page: Pick<FissionPageData, 'tiers' | 'me'>): number {
  const last = page.tiers[page.tiers.length - 1]?.invites ?? 0
  if (!last) return 0
  return Math.min(100, Math.round(((page.me.pending + page.me.confirmed) / last) * 100))
}
