// Schedules and calendars of SOP plans: how a schedule reads, how often it sends against the
// tenant's group-message quota, which days a week / month view shows, and what is due on each.
// Dates are tenant-local `YYYY-MM-DD` strings throughout: the API decides days in the
// tenant's time zone, so the browser's own zone must never shift them.

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'
export const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']

/** components.schemas.SopSchedule */
export interface Schedule {
  kind: 'daily' | 'weekly' | 'monthly'
  time: string
  weekdays?: Weekday[]
  days?: number[]
}

/** components.schemas.GroupMessageQuota */
export type GroupMessageQuota =
  | { kind: 'days_in_month' }
  | { kind: 'per_month'; limit: number }
  | { kind: 'per_week'; limit: number }
  | { kind: 'per_day'; limit: number }

export type Translate = (key: string, values?: Record<string, unknown>) => string

export const TIME = /^([01]\d|2[0-3]):[0-5]\d$/

/** The i18n keys of what is wrong with a schedule (empty: it is fine). */
export function scheduleProblems(s: Schedule): string[] {
  const out: string[] = []
  if (!TIME.test(s.time)) out.push('sop.schedule.problems.time')
  if (s.kind === 'weekly' && !(s.weekdays ?? []).length) out.push('sop.schedule.problems.weekdays')
  if (s.kind === 'monthly') {
    const days = s.days ?? []
    if (!days.length) out.push('sop.schedule.problems.days')
    if (days.some((d) => !Number.isInteger(d) || d < 1 || d > 31)) out.push('sop.schedule.problems.dayRange')
  }
  return out
}

/** The schedule as the API stores it: only the fields of its kind, weekdays and days sorted. */
export function normalizeSchedule(s: Schedule): Schedule {
  if (s.kind === 'weekly') {
    return { kind: 'weekly', time: s.time, weekdays: WEEKDAYS.filter((d) => (s.weekdays ?? []).includes(d)) }
  }
  if (s.kind === 'monthly') {
    return { kind: 'monthly', time: s.time, days: [...new Set(s.days ?? [])].sort((a, b) => a - b) }
  }
  return { kind: 'daily', time: s.time }
}

/** "Every day at 09:00", "Every Mon, Thu at 15:00", "On days 1, 15 of each month at 18:00". */
export function describeSchedule(s: Schedule | null | undefined, t: Translate): string {
  if (!s) return '—'
  const sep = t('sop.schedule.listSeparator')
  if (s.kind === 'weekly') {
    const days = WEEKDAYS.filter((d) => (s.weekdays ?? []).includes(d)).map((d) => t(`sop.weekday.${d}`))
    return t('sop.schedule.describe.weekly', { days: days.join(sep), time: s.time })
  }
  if (s.kind === 'monthly') {
    const days = [...(s.days ?? [])].sort((a, b) => a - b)
    return t('sop.schedule.describe.monthly', { days: days.join(sep), time: s.time })
  }
  return t('sop.schedule.describe.daily', { time: s.time })
}

/** The most messages a schedule sends to one group in a day, a week (Mon–Sun) and a month. */
export function maxPerPeriod(s: Schedule): { day: number; week: number; month: number } {
  if (s.kind === 'weekly') {
    const n = new Set(s.weekdays ?? []).size
    // A month of 31 days holds four of each weekday and a fifth of three of them.
    return { day: n > 0 ? 1 : 0, week: n, month: 4 * n + Math.min(n, 3) }
  }
  if (s.kind === 'monthly') {
    const n = new Set(s.days ?? []).size
    // Days 1–7 (or any seven consecutive days) can fall in one Monday-to-Sunday week.
    const sorted = [...new Set(s.days ?? [])].sort((a, b) => a - b)
    let week = 0
    for (let i = 0; i < sorted.length; i += 1) {
      week = Math.max(week, sorted.filter((d) => d >= sorted[i] && d < sorted[i] + 7).length)
    }
    return { day: n > 0 ? 1 : 0, week, month: n }
  }
  return { day: 1, week: 7, month: 31 }
}

export interface QuotaWarning {
  period: 'day' | 'week' | 'month'
  /** Messages this plan alone sends a group in that period at most. */
  planSends: number
  /** What a group may receive in that period. */
  limit: number
}

/**
 * Whether this plan alone would send a group more enterprise group messages than the
 * tenant's quota lets it receive (the excess tasks would fail with `quota_reached`). Other
 * plans share the quota, so the editor also says that a plan within it may still be refused.
 */
export function quotaWarning(s: Schedule, quota: GroupMessageQuota | null | undefined): QuotaWarning | null {
  const q = quota ?? { kind: 'days_in_month' }
  const sends = maxPerPeriod(s)
  const check = (period: QuotaWarning['period'], planSends: number, limit: number) =>
    planSends > limit ? { period, planSends, limit } : null
  switch (q.kind) {
    case 'per_day':
      return check('day', sends.day, q.limit)
    case 'per_week':
      return check('week', sends.week, q.limit)
    case 'per_month':
      return check('month', sends.month, q.limit)
    default:
      // As many as the month has days: a plan sends at most once a day, so it alone fits.
      return null
  }
}

// --- dates -------------------------------------------------------------------------------

const DAY_MS = 86_400_000

function parseDate(d: string): number {
  const [y, m, day] = d.split('-').map(Number)
  return Date.UTC(y, m - 1, day)
}

function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export function addDays(d: string, n: number): string {
  return formatDate(parseDate(d) + n * DAY_MS)
}

/** 0 for Monday … 6 for Sunday. */
export function weekdayIndex(d: string): number {
  return (new Date(parseDate(d)).getUTCDay() + 6) % 7
}

export function mondayOf(d: string): string {
  return addDays(d, -weekdayIndex(d))
}

/** Today in a time zone, `YYYY-MM-DD`. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now)
}

/** An instant shown in the tenant's time zone, `YYYY-MM-DD HH:MM` and the weekday. */
export function formatInZone(iso: string, timeZone: string, locale: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d)
}

/** The tenant-local date of an instant. */
export function dateInZone(iso: string, timeZone: string): string {
  return todayIn(timeZone, new Date(iso))
}

export type CalendarView = 'week' | 'month'

export interface CalendarRange {
  from: string
  to: string
  /** Every day shown, in order (7 for a week, 42 for a month: six whole weeks). */
  days: string[]
}

/** The days a week view (Monday to Sunday) or a month view (six weeks from the Monday on or before the 1st) shows. */
export function calendarRange(view: CalendarView, anchor: string): CalendarRange {
  const from = view === 'week' ? mondayOf(anchor) : mondayOf(`${anchor.slice(0, 7)}-01`)
  const length = view === 'week' ? 7 : 42
  const days = Array.from({ length }, (_, i) => addDays(from, i))
  return { from, to: days[days.length - 1], days }
}

/** The anchor of the previous or next week / month. */
export function shiftAnchor(view: CalendarView, anchor: string, step: 1 | -1): string {
  if (view === 'week') return addDays(anchor, 7 * step)
  const [y, m] = anchor.split('-').map(Number)
  const month = new Date(Date.UTC(y, m - 1 + step, 1))
  return formatDate(month.getTime())
}

/** An occurrence's time as the API gives it: the instant and its tenant-local reading. */
export interface UpcomingAt {
  at: string
  /** `YYYY-MM-DDTHH:MM` in the tenant's zone. */
  local: string
  weekday: Weekday
}

/** One thing due on the calendar, as `GET /v1/sop/calendar` lists it. */
export interface CalendarEntry {
  date: string
  plan_id: string
  plan_name?: string
  kind?: string
  at?: UpcomingAt
  occurrence_id?: string
  status?: 'dispatched' | 'scheduled'
  late?: boolean
  target_count?: number | null
  tasks?: { total: number; done: number; failed: number; pending: number } | null
  title?: string | null
}

/** Entries by day, each day's in time order; every shown day present (empty days too). */
export function groupByDay(entries: CalendarEntry[], days: string[]): Map<string, CalendarEntry[]> {
  const out = new Map<string, CalendarEntry[]>(days.map((d) => [d, []]))
  for (const e of entries) out.get(e.date)?.push(e)
  for (const list of out.values()) list.sort((a, b) => (a.at?.at ?? '').localeCompare(b.at?.at ?? ''))
  return out
}

/** The `HH:MM` of a tenant-local `YYYY-MM-DDTHH:MM`. */
export function localTime(local: string | undefined): string {
  return local ? local.slice(11, 16) : ''
}
