import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resetClient } from '@/api/client'
import { setConfig } from '@/config'
import { prefetchDashboard, takePrefetched } from '../prefetch'

describe('the dashboard prefetch', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  beforeEach(() => {
    setConfig({ adminApiBase: 'http://api.test' })
    resetClient()
    vi.stubGlobal('fetch', fetchMock)
    fetchMock.mockImplementation(async () => new Response(JSON.stringify({ date: '2026-11-30' }), { status: 200, headers: { 'Content-Type': 'application/json' } }))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
    fetchMock.mockReset()
  })

  it('asks once, and the page takes that answer once', async () => {
    prefetchDashboard(30)
    const answer = takePrefetched(30)
    expect(answer).not.toBeNull()
    expect(await answer).toEqual({ date: '2026-11-30' })
    expect(new URL(fetchMock.mock.calls[0][0].url).searchParams.get('days')).toBe('30')
    expect(takePrefetched(30)).toBeNull()
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })

  it('is not used for another window or once stale', () => {
    prefetchDashboard(30)
    expect(takePrefetched(7)).toBeNull()
    vi.useFakeTimers()
    prefetchDashboard(30)
    vi.advanceTimersByTime(11_000)
    expect(takePrefetched(30)).toBeNull()
  })

  it('keeps a failure for the page to show', async () => {
    fetchMock.mockImplementation(async () => new Response(JSON.stringify({ error: { code: 'forbidden', message: 'no scope' } }), { status: 403 }))
    prefetchDashboard(30)
    await expect(takePrefetched(30)).rejects.toThrow('no scope')
  })
})
