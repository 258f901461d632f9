// The options of the console's daily charts. Kept apart from the chart library (type imports
// only) so a page builds its options without loading ECharts: the page shows its figures at
// once and EChart.vue loads the library for the charts after.
import type { ChartOption } from './echarts'

/**
 * A chart of daily series: one x axis of dates, one series per name. Each point is one day's
 * count, so lines are straight between days (a smoothed curve invents values between them and
 * overshoots around sharp changes) and every day is marked.
 */
export function dailySeriesOption(
  dates: string[],
  series: { name: string; data: number[]; type?: 'line' | 'bar'; stack?: string }[],
): ChartOption {
  return {
    // Drawn at once: the figures are the point, and a second of entry animation on every
    // chart kept the page busy (changes of the window still animate).
    animationDuration: 0,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: 'category', data: dates.map((d) => d.slice(5)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) =>
      (s.type ?? 'line') === 'bar'
        ? { name: s.name, type: 'bar', stack: s.stack, data: s.data }
        : { name: s.name, type: 'line', stack: s.stack, data: s.data, smooth: false, symbol: 'circle', symbolSize: 5 },
    ) as ChartOption['series'],
  }
}
