// ECharts from its core with only the charts and components the console draws (daily line and
// bar series with axes, legend, tooltip and the accessible description), registered once, so the
// chart chunk stays small. Loaded on demand, through ./load.ts only (pages build their chart
// options with ./dailySeries.ts, which needs the types only).
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
