import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, apiErrorFrom, errorMessage, looseApi, resetClient, setTokenSource, setUnauthenticatedHandler } from '@/api/client'
import { setConfig } from '@/config'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('apiErrorFrom', () => {
  it('keeps the API code and message', () => {
    const e = apiErrorFrom(400, { error: { code: 'validation_failed', message: 'days must be 1 to 90', details: { field: 'days' } } })
    expect(e).toBeInstanceOf(ApiError)
    expect([e.status, e.code, e.message]).toEqual([400, 'validation_failed', 'days must be 1 to 90'])
    expect(e.details).toEqual({ field: 'days' })
  })

  it('still names the status when the body is not the API error shape', () => {
    expect(apiErrorFrom(502, '<html>bad gateway</html>', 'Bad Gateway')).toMatchObject({ code: 'internal', message: 'HTTP 502 Bad Gateway' })
    expect(apiErrorFrom(404, null)).toMatchObject({ code: 'http_404', message: 'HTTP 404' })
  })

  it('errorMessage shows any thrown value', () => {
    expect(errorMessage(new ApiError(403, 'forbidden', 'needs scope admin'))).toBe('needs scope admin')
    expect(errorMessage('boom')).toBe('boom')
  })
})

describe('the client', () => {
  const fetchMock = vi.fn<(req: Request) => Promise<Response>>()
  const unauthenticated = vi.fn()

  beforeEach(() => {
    setConfig({ adminApiBase: 'http://api.test/base/' })
    resetClient()
    vi.stubGlobal('fetch', fetchMock)
    setTokenSource(() => 'tok123')
    setUnauthenticatedHandler(unauthenticated)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    fetchMock.mockReset()
    unauthenticated.mockReset()
  })

  it('sends the session token to the configured base and returns the body', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { corp_id: 'ww1' }))
    const { data } = await looseApi.GET('/v1/tenant')
    expect(data).toEqual({ corp_id: 'ww1' })
    const req = fetchMock.mock.calls[0][0]
    expect(req.url).toBe('http://api.test/base/v1/tenant')
    expect(req.headers.get('Authorization')).toBe('Bearer tok123')
  })

  it('throws ApiError with the API message for a non-2xx answer', async () => {
    fetchMock.mockResolvedValue(jsonResponse(409, { error: { code: 'job_running', message: 'a re-sync is running' } }))
    await expect(looseApi.POST('/v1/directory/resync', { body: {} })).rejects.toMatchObject({
      status: 409,
      code: 'job_running',
      message: 'a re-sync is running',
    })
    expect(unauthenticated).not.toHaveBeenCalled()
  })

  it('reports a 401 as the end of the session', async () => {
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: 'unauthenticated', message: 'session expired' } }))
    await expect(looseApi.GET('/v1/customers')).rejects.toBeInstanceOf(ApiError)
    expect(unauthenticated).toHaveBeenCalledTimes(1)
    expect(unauthenticated.mock.calls[0][1]).toBe('tok123')
  })

  it('names the token the refused request carried, not the one held when the answer came', async () => {
    let answer!: (r: Response) => void
    fetchMock.mockReturnValue(new Promise((r) => (answer = r)))
    const call = looseApi.GET('/v1/customers')
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalled())
    // The operator logs in again while the old request is still on its way.
    setTokenSource(() => 'newer')
    answer(jsonResponse(401, { error: { code: 'unauthenticated', message: 'session revoked' } }))
    await expect(call).rejects.toBeInstanceOf(ApiError)
    expect(unauthenticated.mock.calls[0][1]).toBe('tok123')
  })

  it('turns a network failure into ApiError code network', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    await expect(looseApi.GET('/v1/customers')).rejects.toMatchObject({ status: 0, code: 'network', message: 'Failed to fetch' })
  })
})
