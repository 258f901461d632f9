import createClient, { type Middleware } from 'openapi-fetch'
import { ApiError, apiErrorFrom } from './errors'

export { ApiError, apiErrorFrom, errorMessage } from './errors'

/**
 * A middleware adding the session's bearer token and turning every non-2xx answer into a
 * thrown ApiError (the API's message is what pages show). `onUnauthenticated` runs on a 401
 * from any route but the ones that create a session (their 401 is the login page's to show).
 */
export function sessionMiddleware(
  token: () => string | null,
  onUnauthenticated: (e: ApiError) => void,
  sessionPaths: RegExp,
): Middleware {
  return {
    async onRequest({ request }) {
      const current = token()
      if (current && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${current}`)
      return request
    },
    async onResponse({ request, response }) {
      if (response.ok) return response
      let body: unknown = null
      try {
        body = await response.clone().json()
      } catch {
        body = null
      }
      const error = apiErrorFrom(response.status, body, response.statusText)
      if (response.status === 401 && !sessionPaths.test(new URL(request.url).pathname)) onUnauthenticated(error)
      throw error
    },
    async onError({ error }) {
      if (error instanceof ApiError) return error
      return new ApiError(0, 'network', error instanceof Error ? error.message : String(error))
    },
  }
}

interface LooseInit {
  params?: { path?: Record<string, string | number>; query?: Record<string, unknown> }
  body?: unknown
  headers?: Record<string, string>
}
export type LooseCall = <T = unknown>(path: string, init?: LooseInit) => Promise<T>

/** An untyped view of a client, for the routes whose bodies the specs give in prose only. */
export interface LooseApi {
  GET: LooseCall
  POST: LooseCall
  PUT: LooseCall
  DELETE: LooseCall
}

type Call = (path: string, init?: LooseInit) => Promise<{ data?: unknown }>

/**
 * Builds a client for `base()` (read at call time: config.json loads after the module). The
 * untyped calls first wait for `ready()` (the configuration's read), so a page drawn before
 * config.json arrived still calls the configured API.
 */
export function lazyClient<Paths extends object>(base: () => string, middleware: Middleware, ready: () => Promise<unknown> = () => Promise.resolve()) {
  let current: { base: string; client: ReturnType<typeof createClient<Paths>> } | null = null
  const get = () => {
    const url = base().replace(/\/$/, '')
    if (!current || current.base !== url) {
      const client = createClient<Paths>({ baseUrl: url, fetch: (input: Request) => globalThis.fetch(input) })
      client.use(middleware)
      current = { base: url, client }
    }
    return current.client
  }
  const typed = new Proxy({} as ReturnType<typeof createClient<Paths>>, {
    get: (_t, prop) => Reflect.get(get(), prop),
  })
  const loose = (method: 'GET' | 'POST' | 'PUT' | 'DELETE'): LooseCall =>
    (async (path: string, init?: LooseInit) => {
      await ready()
      const { data } = await (get()[method] as unknown as Call)(path, init)
      return data
    }) as LooseCall
  const looseApi: LooseApi = { GET: loose('GET'), POST: loose('POST'), PUT: loose('PUT'), DELETE: loose('DELETE') }
  return { typed, loose: looseApi }
}
