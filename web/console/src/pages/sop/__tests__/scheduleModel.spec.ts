import { describe, expect, it } from 'vitest'
import {
  calendarRange,
  describeSchedule,
  formatInZone,
  groupByDay,
  maxPerPeriod,
  normalizeSchedule,
  quotaWarning,
  scheduleProblems,
  shiftAnchor,
  todayIn,
} from '../scheduleModel'

const t = (key: string, values?: Record<string, unknown>) => `${key}${values ? JSON.stringify(values) : ''}`

describe('schedules', () => {
  it('keep only their kind’s fields, weekdays in week order and days sorted once', () => {
    expect(normalizeSchedule({ kind: 'weekly', time: '15:00', weekdays: ['fri', 'mon'], days: [3] })).toEqual({
      kind: 'weekly',
      time: '15:00',
      weekdays: ['mon', 'fri'],
    })
    expect(normalizeSchedule({ kind: 'monthly', time: '18:00', weekdays: ['mon'], days: [31, 1, 31] })).toEqual({
      kind: 'monthly',
      time: '18:00',
      days: [1, 31],
    })
    expect(normalizeSchedule({ kind: 'daily', time: '09:00', weekdays: ['mon'], days: [1] })).toEqual({
      kind: 'daily',
      time: '09:00',
    })
  })

  it('say what is missing', () => {
    expect(scheduleProblems({ kind: 'weekly', time: '24:00', weekdays: [] })).toEqual([
      'sop.schedule.problems.time',
      'sop.schedule.problems.weekdays',
    ])
    expect(scheduleProblems({ kind: 'monthly', time: '09:00', days: [0] })).toEqual(['sop.schedule.problems.dayRange'])
    expect(scheduleProblems({ kind: 'daily', time: '09:00' })).toEqual([])
  })

  it('read as words', () => {
    expect(describeSchedule({ kind: 'weekly', time: '15:00', weekdays: ['thu', 'mon'] }, t)).toBe(
      'sop.schedule.describe.weekly{"days":"sop.weekday.monsop.schedule.listSeparatorsop.weekday.thu","time":"15:00"}',
    )
  })
})

describe('group-message quota warning', () => {
  it('counts the most sends per day, week and month', () => {
    expect(maxPerPeriod({ kind: 'daily', time: '09:00' })).toEqual({ day: 1, week: 7, month: 31 })
    expect(maxPerPeriod({ kind: 'weekly', time: '09:00', weekdays: ['mon', 'wed'] })).toEqual({ day: 1, week: 2, month: 10 })
    expect(maxPerPeriod({ kind: 'monthly', time: '09:00', days: [1, 5, 20] })).toEqual({ day: 1, week: 2, month: 3 })
  })

  it('warns when the plan alone exceeds the tenant’s quota', () => {
    expect(quotaWarning({ kind: 'daily', time: '09:00' }, { kind: 'per_month', limit: 4 })).toEqual({
      period: 'month',
      planSends: 31,
      limit: 4,
    })
    expect(quotaWarning({ kind: 'weekly', time: '09:00', weekdays: ['mon'] }, { kind: 'per_month', limit: 4 })).toEqual({
      period: 'month',
      planSends: 5,
      limit: 4,
    })
    expect(quotaWarning({ kind: 'weekly', time: '09:00', weekdays: ['mon'] }, { kind: 'per_week', limit: 7 })).toBeNull()
    expect(quotaWarning({ kind: 'daily', time: '09:00' }, { kind: 'days_in_month' })).toBeNull()
    expect(quotaWarning({ kind: 'daily', time: '09:00' }, null)).toBeNull()
  })
})

describe('calendar views', () => {
  it('show a week from Monday to Sunday', () => {
    const r = calendarRange('week', '2026-12-03')
    expect(r.from).toBe('2026-11-30')
    expect(r.to).toBe('2026-12-06')
    expect(r.days).toHaveLength(7)
  })

  it('show a month as six whole weeks from the Monday on or before the 1st (≤ 42 days)', () => {
    const r = calendarRange('month', '2026-02-17')
    expect(r.from).toBe('2026-01-26')
    expect(r.to).toBe('2026-03-08')
    expect(r.days).toHaveLength(42)
    expect(r.days).toContain('2026-02-28')
  })

  it('move by a week or a calendar month across years', () => {
    expect(shiftAnchor('week', '2026-12-30', 1)).toBe('2027-01-06')
    expect(shiftAnchor('month', '2026-01-31', -1)).toBe('2025-12-01')
    expect(shiftAnchor('month', '2026-12-15', 1)).toBe('2027-01-01')
  })

  it('put entries under their day in time order, every shown day present', () => {
    const days = calendarRange('week', '2026-11-30').days
    const by = groupByDay(
      [
        { date: '2026-12-01', plan_id: 'p2', at: { at: '2026-12-01T10:00:00Z', local: '2026-12-01T18:00', weekday: 'tue' } },
        { date: '2026-12-01', plan_id: 'p1', at: { at: '2026-12-01T01:00:00Z', local: '2026-12-01T09:00', weekday: 'tue' } },
        { date: '2027-01-01', plan_id: 'p3' },
      ],
      days,
    )
    expect([...by.keys()]).toEqual(days)
    expect(by.get('2026-12-01')!.map((e) => e.plan_id)).toEqual(['p1', 'p2'])
    expect(by.get('2026-11-30')).toEqual([])
  })
})

describe('time zones', () => {
  it('date and format instants in the tenant’s zone, not the browser’s', () => {
    const instant = new Date('2026-11-30T17:30:00Z')
    expect(todayIn('Asia/Shanghai', instant)).toBe('2026-12-01')
    expect(todayIn('America/New_York', instant)).toBe('2026-11-30')
    expect(formatInZone('2026-11-30T17:30:00Z', 'Asia/Shanghai', 'en-GB')).toContain('01:30')
  })
})
