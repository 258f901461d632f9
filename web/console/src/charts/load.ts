// The chart library (./echarts.ts and ECharts itself, the console's largest chunk), loaded on
// demand once for every chart: pages show their figures without waiting for it.
export type ChartLibrary = typeof import('./echarts')

const importLibrary = (): Promise<ChartLibrary> => import('./echarts')

let source: () => Promise<ChartLibrary> = importLibrary
let library: Promise<ChartLibrary> | null = null

export function loadChartLibrary(): Promise<ChartLibrary> {
  library ??= source().catch((e: unknown) => {
    // A failed download (a deployment replaced the chunk, the network dropped) is tried
    // again by the next chart instead of failing every later chart too.
    library = null
    throw e
  })
  return library
}

/** Where the library comes from (component tests draw with a stand-in); null: ECharts. */
export function setChartLibrarySource(next: (() => Promise<ChartLibrary>) | null): void {
  source = next ?? importLibrary
  library = null
}
