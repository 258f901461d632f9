// The check-in calendar's month grid: weeks of seven cells starting on Monday (as Chinese
// calendars do), each cell a day of the month or a blank, with whether the customer checked in
// that day. Dates are calendar days ("YYYY-MM-DD"), never instants: the tenant's day decides.

export interface CalendarCell {
  /** "YYYY-MM-DD", or null for a blank before the 1st or after the last day. */
  date: string | null
  day: number | null
  checkedIn: boolean
  isToday: boolean
  isFuture: boolean
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

export function isoDay(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** 0 = Monday ... 6 = Sunday. */
export function weekdayMondayFirst(year: number, month: number, day: number): number {
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7
}

/** The month's weeks; `today` is "YYYY-MM-DD" in the tenant's timezone. */
export function monthGrid(year: number, month: number, checkedIn: Iterable<string>, today: string): CalendarCell[][] {
  const done = new Set(checkedIn)
  const cells: CalendarCell[] = []
  const lead = weekdayMondayFirst(year, month, 1)
  const blank = (): CalendarCell => ({ date: null, day: null, checkedIn: false, isToday: false, isFuture: false })
  for (let i = 0; i < lead; i++) cells.push(blank())
  const last = daysInMonth(year, month)
  for (let d = 1; d <= last; d++) {
    const date = isoDay(year, month, d)
    cells.push({ date, day: d, checkedIn: done.has(date), isToday: date === today, isFuture: date > today })
  }
  while (cells.length % 7) cells.push(blank())
  const weeks: CalendarCell[][] = []
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7))
  return weeks
}

/** The day `iso` moved by `days` ("YYYY-MM-DD" arithmetic, no timezone involved). */
export function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number)
  const t = new Date(Date.UTC(y, m - 1, d + days))
  return isoDay(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate())
}

/** Today in `timeZone` as "YYYY-MM-DD". */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now)
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')}`
}

/**
 * The days of the current streak ending today (or yesterday when today is not checked in
 * yet): what the calendar can mark when the ledger's earlier pages are not loaded.
 */
export function streakDays(today: string, streak: number, checkedInToday: boolean): string[] {
  const end = checkedInToday ? today : addDays(today, -1)
  const out: string[] = []
  for (let i = 0; i < streak; i++) out.push(addDays(end, -i))
  return out
}

/** The next streak tier after `streak` among `tiers` (days), or null past the last. */
export function nextTier(streak: number, tiers: number[]): { days: number; remaining: number } | null {
  const sorted = [...new Set(tiers)].filter((t) => t > 0).sort((a, b) => a - b)
  const next = sorted.find((t) => t > streak)
  return next === undefined ? null : { days: next, remaining: next - streak }
}
