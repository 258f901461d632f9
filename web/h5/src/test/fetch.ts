import { vi } from 'vitest'

export interface Call {
  method: string
  path: string
  headers: Headers
  body: unknown
}

/**
 * Replaces fetch with `answer(call)` → [status, body]; returns the calls made. A thrown
 * TypeError (what fetch throws offline) is simulated by answering `'network'`.
 */
export function stubFetch(answer: (call: Call) => [number, unknown] | 'network'): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (input: Request) => {
    const text = await input.text()
    const call: Call = {
      method: input.method,
      path: new URL(input.url).pathname,
      headers: input.headers,
      body: text ? JSON.parse(text) : undefined,
    }
    calls.push(call)
    const result = answer(call)
    if (result === 'network') throw new TypeError('Failed to fetch')
    const [status, body] = result
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  })
  return calls
}
