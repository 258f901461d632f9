// The dashboard's figures as the page shows them: today against yesterday, and series per chart.

export interface DashboardDay {
  date: string
  contacts_added: number
  customers_added: number
  customers_lost: number
  members_joined: number
  members_left: number
  check_ins: number
  points_issued: number
  points_spent: number
  points_expired: number
  points_removed: number
  sop_occurrences: number
  sop_tasks: number
  sop_tasks_done: number
  sop_tasks_failed: number
  sop_tasks_pending: number
}

export interface Dashboard {
  date: string
  timezone: string
  customers: number
  groups: number
  today: DashboardDay
  window: DashboardDay
  series: DashboardDay[]
  sop_truncated: boolean
}

export type Figure = Exclude<keyof DashboardDay, 'date'>

/** Yesterday is the day before the last of the series (absent for a one-day window). */
export function yesterday(board: Dashboard): DashboardDay | null {
  return board.series.length >= 2 ? board.series[board.series.length - 2] : null
}

/** Nothing happened in the whole window (a new tenant): the page says what to do first. */
export function isEmpty(board: Dashboard): boolean {
  const w = board.window
  const figures = [w.contacts_added, w.customers_lost, w.members_joined, w.members_left, w.check_ins, w.points_issued, w.sop_tasks]
  return board.groups === 0 && board.customers === 0 && figures.every((n) => n === 0)
}

export function column(board: Dashboard, figure: Figure): number[] {
  return board.series.map((d) => d[figure])
}

/** The rows of a chart's data table: one per day, the date then each figure. */
export function tableRows(board: Dashboard, figures: Figure[]): (string | number)[][] {
  return board.series.map((d) => [d.date, ...figures.map((f) => d[f])])
}
