// Runtime configuration, read from /config.json so one build serves every deployment: the
// deployment writes its own file next to index.html.
export interface ConsoleConfig {
  /** Where the admin API answers, e.g. `/admin-api` (proxied) or an absolute URL. */
  adminApiBase: string
}

const fallback: ConsoleConfig = { adminApiBase: '/admin-api' }
let loaded: ConsoleConfig = fallback

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ConsoleConfig> {
  try {
    const res = await fetchImpl('/config.json', { cache: 'no-store' })
    if (res.ok) loaded = { ...fallback, ...((await res.json()) as Partial<ConsoleConfig>) }
  } catch {
    // No config.json (e.g. unit tests): the default base is the local proxy's.
  }
  return loaded
}

export function config(): ConsoleConfig {
  return loaded
}

export function setConfig(next: Partial<ConsoleConfig>): void {
  loaded = { ...loaded, ...next }
}
