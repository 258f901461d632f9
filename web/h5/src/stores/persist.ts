/** Reads a stored JSON value, or null when absent or unreadable. */
export function readJson<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key)
    return raw ? (JSON.parse(raw) as T) : null
  } catch {
    return null
  }
}

export function writeJson(key: string, value: unknown): void {
  if (value === null) localStorage.removeItem(key)
  else localStorage.setItem(key, JSON.stringify(value))
}

/** True while `expiresAt` (ISO or epoch seconds) has not passed. */
export function notExpired(expiresAt: string | number | null | undefined, now = Date.now()): boolean {
  if (expiresAt === null || expiresAt === undefined || expiresAt === '') return true
  const end = typeof expiresAt === 'number' ? expiresAt * 1000 : Date.parse(expiresAt)
  return Number.isNaN(end) || end > now
}
