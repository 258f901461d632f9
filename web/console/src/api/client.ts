import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'
import { config } from '@/config'
import { ApiError, apiErrorFrom } from './errors'

export { ApiError, apiErrorFrom, errorMessage } from './errors'
export type { paths, components } from './schema'

/** Supplies the session token; set by the session store so the client does not import it. */
let tokenSource: () => string | null = () => null
/**
 * Called when the API says the session a request carried is no longer valid (401), with that
 * request's token: the session held by then may be a newer one, which the answer says nothing
 * about.
 */
let onUnauthenticated: (e: ApiError, token: string | null) => void = () => {}

export function setTokenSource(source: () => string | null): void {
  tokenSource = source
}
export function setUnauthenticatedHandler(handler: (e: ApiError, token: string | null) => void): void {
  onUnauthenticated = handler
}

/** Marks a request that carries its own Authorization header (the API-key login). */
export const OWN_AUTHORIZATION = 'X-Console-Own-Authorization'

export const errorMiddleware: Middleware = {
  async onRequest({ request }) {
    if (request.headers.has(OWN_AUTHORIZATION)) {
      request.headers.delete(OWN_AUTHORIZATION)
      return request
    }
    const token = tokenSource()
    if (token) request.headers.set('Authorization', `Bearer ${token}`)
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
    // A login attempt's 401 is the login page's to show; any other 401 means the session ended.
    if (response.status === 401 && !new URL(request.url).pathname.endsWith('/v1/console/sessions/key')) {
      const sent = request.headers.get('Authorization')?.replace(/^Bearer /, '') || null
      onUnauthenticated(error, sent)
    }
    throw error
  },
  async onError({ error }) {
    if (error instanceof ApiError) return error
    return new ApiError(0, 'network', error instanceof Error ? error.message : String(error))
  },
}

function makeClient() {
  const client = createClient<paths>({
    baseUrl: config().adminApiBase.replace(/\/$/, ''),
    // Read at call time so tests can stub the global fetch.
    fetch: (input: Request) => globalThis.fetch(input),
  })
  client.use(errorMiddleware)
  return client
}

let current: ReturnType<typeof makeClient> | null = null

/**
 * The admin API client, typed from docs/openapi.yaml. Non-2xx answers throw ApiError, so
 * `const { data } = await api.GET(...)` only ever sees successes.
 */
export const api = new Proxy({} as ReturnType<typeof makeClient>, {
  get(_target, prop) {
    current ??= makeClient()
    return Reflect.get(current, prop)
  },
})

/** Rebuilds the client (after the config's base URL changed). */
export function resetClient(): void {
  current = null
}

/**
 * The body of a successful call. Many routes of the spec describe their body in prose only;
 * pages name the shape they read with `T`.
 */
export async function unwrap<T = unknown>(call: Promise<{ data?: unknown; response: Response }>): Promise<T> {
  const { data } = await call
  return data as T
}

interface LooseInit {
  params?: { path?: Record<string, string | number>; query?: Record<string, unknown> }
  body?: unknown
  headers?: Record<string, string>
  parseAs?: 'json' | 'text' | 'blob' | 'arrayBuffer' | 'stream'
  bodySerializer?: (body: unknown) => BodyInit
}
type LooseCall = (path: string, init?: LooseInit) => Promise<{ data?: unknown; response: Response }>

/**
 * The same client without the spec's types, for a route whose body the spec gives in prose
 * only or that a page reaches before the generated schema lists it. Prefer `api`.
 */
export const looseApi = {
  GET: ((path, init) => (api.GET as unknown as LooseCall)(path, init)) as LooseCall,
  POST: ((path, init) => (api.POST as unknown as LooseCall)(path, init)) as LooseCall,
  PUT: ((path, init) => (api.PUT as unknown as LooseCall)(path, init)) as LooseCall,
  PATCH: ((path, init) => (api.PATCH as unknown as LooseCall)(path, init)) as LooseCall,
  DELETE: ((path, init) => (api.DELETE as unknown as LooseCall)(path, init)) as LooseCall,
}
