import { describe, expect, it } from 'vitest'
import { addDays, daysInMonth, monthGrid, nextTier, streakDays, todayIn, weekdayMondayFirst } from '../calendar'

describe('month grid', () => {
  it('starts weeks on Monday with blanks before the 1st and after the last day', () => {
    // 1 November 2026 is a Sunday.
    const weeks = monthGrid(2026, 11, [], '2026-11-30')
    expect(weekdayMondayFirst(2026, 11, 1)).toBe(6)
    expect(weeks[0].slice(0, 6).every((c) => c.date === null)).toBe(true)
    expect(weeks[0][6].date).toBe('2026-11-01')
    expect(weeks.every((w) => w.length === 7)).toBe(true)
    const days = weeks.flat().filter((c) => c.date)
    expect(days).toHaveLength(30)
    expect(days.at(-1)?.date).toBe('2026-11-30')
  })

  it('marks checked-in days, today and the future', () => {
    const weeks = monthGrid(2026, 2, ['2026-02-03', '2026-02-04', '2026-01-31'], '2026-02-04')
    const cells = weeks.flat().filter((c) => c.date)
    expect(cells.filter((c) => c.checkedIn).map((c) => c.date)).toEqual(['2026-02-03', '2026-02-04'])
    expect(cells.find((c) => c.isToday)?.date).toBe('2026-02-04')
    expect(cells.find((c) => c.date === '2026-02-05')?.isFuture).toBe(true)
    expect(cells.find((c) => c.date === '2026-02-03')?.isFuture).toBe(false)
  })

  it('knows month lengths, leap years included', () => {
    expect(daysInMonth(2024, 2)).toBe(29)
    expect(daysInMonth(2026, 2)).toBe(28)
    expect(daysInMonth(2026, 12)).toBe(31)
    expect(monthGrid(2026, 2, [], '2026-02-01').flat().filter((c) => c.date)).toHaveLength(28)
  })
})

describe('day arithmetic', () => {
  it('moves across months and years', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
  })

  it('lists the streak ending today, or yesterday before today’s check-in', () => {
    expect(streakDays('2026-03-02', 3, true)).toEqual(['2026-03-02', '2026-03-01', '2026-02-28'])
    expect(streakDays('2026-03-02', 2, false)).toEqual(['2026-03-01', '2026-02-28'])
    expect(streakDays('2026-03-02', 0, false)).toEqual([])
  })

  it('gives today in a timezone, not the machine’s', () => {
    const instant = new Date('2026-11-30T17:30:00Z')
    expect(todayIn('Asia/Shanghai', instant)).toBe('2026-12-01')
    expect(todayIn('UTC', instant)).toBe('2026-11-30')
  })
})

describe('next tier', () => {
  it('is the first tier past the streak, and none past the last', () => {
    expect(nextTier(0, [7, 3, 15])).toEqual({ days: 3, remaining: 3 })
    expect(nextTier(3, [3, 7, 15])).toEqual({ days: 7, remaining: 4 })
    expect(nextTier(15, [3, 7, 15])).toBeNull()
  })
})
