// The dashboard's data requested as soon as the router knows the dashboard is next, before its
// page chunk and the chart library have loaded: the request and the downloads run at once, and
// the page takes the answer instead of asking again.
import { looseApi, unwrap } from '@/api/client'
import type { Dashboard } from './dashboardModel'

/** The window the page opens with. */
export const DEFAULT_DAYS = 30

/** An answer older than this is asked for again (the page was not shown at the time). */
const FRESH_MS = 10_000

let pending: { days: number; at: number; answer: Promise<Dashboard> } | null = null

export function fetchDashboard(days: number): Promise<Dashboard> {
  return unwrap<Dashboard>(looseApi.GET('/v1/dashboard', { params: { query: { days } } }))
}

/** Starts the request for `days` (the router's guard, before the page loads). */
export function prefetchDashboard(days = DEFAULT_DAYS): void {
  const answer = fetchDashboard(days)
  // Whoever takes it handles a failure; until then it is not an unhandled rejection.
  answer.catch(() => undefined)
  pending = { days, at: Date.now(), answer }
}

/** The prefetched answer for `days`, once (null when there is none or it is stale). */
export function takePrefetched(days: number): Promise<Dashboard> | null {
  const p = pending
  pending = null
  if (!p || p.days !== days || Date.now() - p.at > FRESH_MS) return null
  return p.answer
}
