import { describe, expect, it } from 'vitest'
import { dailySeriesOption } from '../dailySeries'

type Series = { type: string; smooth?: boolean; showSymbol?: boolean; symbolSize?: number; data: number[]; stack?: string }

describe('dailySeriesOption', () => {
  const dates = ['2026-11-28', '2026-11-29', '2026-11-30']

  it('draws day counts as straight lines with every day marked, never a smoothed curve', () => {
    const option = dailySeriesOption(dates, [
      { name: 'gained', data: [0, 9, 0] },
      { name: 'lost', data: [3, 0, 3] },
    ])
    const series = option.series as Series[]
    expect(series).toHaveLength(2)
    for (const s of series) {
      expect(s.type).toBe('line')
      expect(s.smooth).toBe(false)
      expect(s.showSymbol).not.toBe(false)
      expect(s.symbolSize).toBeGreaterThan(0)
    }
    expect(series[0].data).toEqual([0, 9, 0])
    expect((option.xAxis as { data: string[] }).data).toEqual(['11-28', '11-29', '11-30'])
    expect((option.yAxis as { minInterval: number }).minInterval).toBe(1)
  })

  it('keeps bars as bars, stacked when asked', () => {
    const option = dailySeriesOption(dates, [{ name: 'done', data: [1, 2, 3], type: 'bar', stack: 'tasks' }])
    const [bar] = option.series as Series[]
    expect(bar.type).toBe('bar')
    expect(bar.stack).toBe('tasks')
    expect(bar.smooth).toBeUndefined()
  })
})
