// ECharts from its core with only the charts and components the console draws (daily line and
// bar series with axes, legend, tooltip and the accessible description), registered once, so the
// chart chunk stays small.
import { use, init, type ComposeOption, type EChartsType } from 'echarts/core'
import { BarChart, LineChart, type BarSeriesOption, type LineSeriesOption } from 'echarts/charts'
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type TooltipComponentOption,
  type AriaComponentOption,
} from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer])

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption | AriaComponentOption
>

export { init }
export type { EChartsType }

/** A line or bar chart of daily series: one x axis of dates, one series per name. */
export function dailySeriesOption(
  dates: string[],
  series: { name: string; data: number[]; type?: 'line' | 'bar'; stack?: string }[],
): ChartOption {
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: 'category', data: dates.map((d) => d.slice(5)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) => ({
      name: s.name,
      type: s.type ?? 'line',
      stack: s.stack,
      data: s.data,
      smooth: s.type !== 'bar',
      showSymbol: false,
    })) as ChartOption['series'],
  }
}
