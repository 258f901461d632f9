import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import JobProgress, { type JobStatus } from '@/components/JobProgress.vue'
import { ApiError } from '@/api/errors'

describe('JobProgress', () => {
  afterEach(() => vi.useRealTimers())

  it('polls until the job ends, showing its progress, and reports the end once', async () => {
    vi.useFakeTimers()
    const states: JobStatus[] = [
      { state: 'running', done: 1, total: 4, message: 'tags' },
      { state: 'running', done: 3, total: 4, message: 'customers' },
      { state: 'done', done: 4, total: 4 },
    ]
    const fetchJob = vi.fn(async () => states.shift()!)
    const w = mount(JobProgress, { props: { fetchJob, intervalMs: 500 } })
    await flushPromises()
    expect(w.attributes('data-state')).toBe('running')
    expect(w.text()).toContain('1 / 4')
    expect(w.text()).toContain('tags')
    await vi.advanceTimersByTimeAsync(500)
    expect(w.text()).toContain('3 / 4')
    await vi.advanceTimersByTimeAsync(500)
    expect(w.attributes('data-state')).toBe('done')
    expect(w.emitted('finished')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchJob).toHaveBeenCalledTimes(3)
  })

  it('shows a failed poll and keeps polling', async () => {
    vi.useFakeTimers()
    const fetchJob = vi
      .fn<() => Promise<JobStatus>>()
      .mockRejectedValueOnce(new ApiError(503, 'unavailable', 'try again shortly'))
      .mockResolvedValueOnce({ state: 'done' })
    const w = mount(JobProgress, { props: { fetchJob, intervalMs: 100 } })
    await flushPromises()
    expect(w.text()).toContain('try again shortly')
    await vi.advanceTimersByTimeAsync(100)
    expect(w.attributes('data-state')).toBe('done')
    expect(w.text()).not.toContain('try again shortly')
  })
})
