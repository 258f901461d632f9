/** An error answered by the admin API (or the network), in the API's own terms. */
export class ApiError extends Error {
  /** HTTP status; 0 when the API could not be reached. */
  readonly status: number
  /** The API's stable error code, e.g. `validation_failed`, `forbidden`, `network`. */
  readonly code: string
  readonly details: unknown

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
}

/**
 * Builds the ApiError for a non-2xx response from its body. The API answers
 * `{"error": {"code", "message", "details"}}`; anything else (a proxy's HTML page, an empty
 * body) still gives the operator the status rather than nothing.
 */
export function apiErrorFrom(status: number, body: unknown, statusText = ''): ApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error
  if (err && typeof err.code === 'string') {
    const message = typeof err.message === 'string' && err.message ? err.message : err.code
    return new ApiError(status, err.code, message, err.details)
  }
  const code = status >= 500 ? 'internal' : 'http_' + status
  return new ApiError(status, code, `HTTP ${status}${statusText ? ' ' + statusText : ''}`)
}

/** The text a page shows for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}
