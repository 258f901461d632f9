// The tracked links pages' calls to the admin API (链接追踪), typed by the generated client.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type TrackedLink = components['schemas']['TrackedLink']
export type ClickRow = components['schemas']['LinkClickRow']

export interface LinkFigures {
  from: string
  to: string
  total: components['schemas']['LinkClickCounts']
  by_link: ClickRow[]
  by_plan: ClickRow[]
  by_staff: ClickRow[]
  by_day: ClickRow[]
}

export const linksApi = {
  list: () => unwrap<{ from: string; to: string; items: TrackedLink[] }>(api.GET('/v1/links')),
  /** Creates a link; a retry with the same key answers the link the first request made. */
  create: (body: { url: string; title?: string }, idempotencyKey: string) =>
    unwrap<TrackedLink>(api.POST('/v1/links', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body })),
  /** The click figures of every link, or of one (`link_id`). */
  figures: (linkId?: string) =>
    unwrap<LinkFigures>(api.GET('/v1/links/figures', { params: { query: linkId ? { link_id: linkId } : {} } })),
  /** A staff member's own short URL of a link (the same member always gets the same code). */
  mint: (linkId: string, staff: string) =>
    unwrap<StaffCode>(api.POST('/v1/links/{link_id}/codes', { params: { path: { link_id: linkId } }, body: { staff } })),
}

/** A staff member's own short code of a link. */
export interface StaffCode {
  code: string
  path: string
  short_url?: string | null
  link_id: string
  staff: string
}

/** The problems the API would answer for a URL and title (its rules, checked first). */
export function linkProblems(url: string, title: string): string[] {
  const out: string[] = []
  if (!/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(url)) out.push('url')
  else if (new TextEncoder().encode(url).length > 2048) out.push('urlLength')
  if (title && (title.trim() === '' || [...title].length > 64)) out.push('title')
  return out
}
