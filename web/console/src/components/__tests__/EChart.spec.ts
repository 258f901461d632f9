import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import EChart from '@/components/EChart.vue'
import { setChartLibrarySource, type ChartLibrary } from '@/charts/load'

const load = vi.fn<() => Promise<ChartLibrary>>()

function fakeLibrary() {
  const chart = { setOption: vi.fn(), resize: vi.fn(), dispose: vi.fn() }
  const init = vi.fn(() => chart)
  return { chart, init, library: { init } as unknown as ChartLibrary }
}

/** An IntersectionObserver the test moves: `show()` brings every observed box into view. */
class FakeViewport {
  static last: FakeViewport | null = null
  observed: Element[] = []
  constructor(private readonly callback: IntersectionObserverCallback) {
    FakeViewport.last = this
  }
  observe(el: Element) {
    this.observed.push(el)
  }
  disconnect() {
    this.observed = []
  }
  show() {
    const entries = this.observed.map((target) => ({ target, isIntersecting: true }) as IntersectionObserverEntry)
    this.callback(entries, this as unknown as IntersectionObserver)
  }
}

const option = { series: [{ type: 'line' as const, data: [1, 2] }] }

describe('EChart', () => {
  beforeEach(() => {
    load.mockReset()
    setChartLibrarySource(load)
    FakeViewport.last = null
    vi.stubGlobal('IntersectionObserver', FakeViewport)
  })
  afterEach(() => {
    setChartLibrarySource(null)
    vi.unstubAllGlobals()
  })

  it('loads the chart library and draws only once its box comes near the viewport', async () => {
    const { chart, init, library } = fakeLibrary()
    load.mockResolvedValue(library)
    const w = mount(EChart, { props: { option, label: 'Check-ins' } })
    await flushPromises()
    expect(load).not.toHaveBeenCalled()
    expect(w.find('[data-test="echart"]').attributes('aria-label')).toBe('Check-ins')
    FakeViewport.last!.show()
    await flushPromises()
    expect(init).toHaveBeenCalledTimes(1)
    expect(chart.setOption).toHaveBeenCalledWith(expect.objectContaining({ series: option.series }), { notMerge: true })
    w.unmount()
    expect(chart.dispose).toHaveBeenCalled()
  })

  it('says so when the library cannot be loaded, keeps the data table, and retries', async () => {
    const { init, library } = fakeLibrary()
    load.mockRejectedValueOnce(new TypeError('Failed to fetch dynamically imported module')).mockResolvedValue(library)
    const w = mount(EChart, {
      props: { option, label: 'Check-ins', table: { columns: ['date', 'n'], rows: [['2026-11-30', 2]] } },
    })
    FakeViewport.last!.show()
    await flushPromises()
    const failed = w.find('[data-state="error"]')
    expect(failed.text()).toContain('图表未能加载')
    expect(w.find('tbody').text()).toContain('2026-11-30')
    await failed.find('button').trigger('click')
    await flushPromises()
    expect(init).toHaveBeenCalledTimes(1)
    expect(w.find('[data-state="error"]').exists()).toBe(false)
  })

  it('does not draw into a chart removed while the library was loading', async () => {
    const { init, library } = fakeLibrary()
    let resolve!: (l: typeof library) => void
    load.mockReturnValue(new Promise((r) => (resolve = r)))
    const w = mount(EChart, { props: { option } })
    FakeViewport.last!.show()
    w.unmount()
    resolve(library)
    await flushPromises()
    expect(init).not.toHaveBeenCalled()
  })
})
