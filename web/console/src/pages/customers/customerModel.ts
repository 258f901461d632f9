import type { components } from '@/api/schema'

export type Customer = components['schemas']['Customer']
export type FollowRelation = components['schemas']['FollowRelation']
export type Group = components['schemas']['Group']
export type Membership = components['schemas']['Membership']

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

/** The customer's tags over every follow relation, each once, corp tags first. */
export function customerTags(c: Customer): { name: string; group: string | null; type: number | undefined }[] {
  const seen = new Map<string, { name: string; group: string | null; type: number | undefined }>()
  for (const f of c.follow_users ?? []) {
    if (f.status === 'removed') continue
    for (const tag of f.tags ?? []) {
      const name = tag.tag_name ?? tag.tag_id ?? ''
      if (!name) continue
      const key = `${tag.group_name ?? ''}/${name}`
      if (!seen.has(key)) seen.set(key, { name, group: tag.group_name ?? null, type: tag.tag_type })
    }
  }
  return [...seen.values()].sort((a, b) => (a.type ?? 9) - (b.type ?? 9) || a.name.localeCompare(b.name))
}

/** When the first member added the customer (WeCom epoch seconds). */
export function firstAdded(c: Customer): number | null {
  const times = (c.follow_users ?? []).map((f) => f.createtime).filter((t): t is number => typeof t === 'number' && t > 0)
  return times.length ? Math.min(...times) : null
}

/** What the customer list searches by: a name prefix or an exact external_userid. */
export type SearchMode = 'name' | 'id'

/** A search the API can answer, or why not. */
export interface CustomerSearch {
  mode: SearchMode
  text: string
}

/** The API's limits (docs/openapi.yaml, GET /v1/customers). */
export const MAX_NAME_CHARS = 64
export const MAX_ID_CHARS = 128
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/

/** Why the text cannot be searched in that mode (an i18n key), or null when it can. */
export function searchProblem(search: CustomerSearch): string | null {
  const text = search.text.trim()
  if (!text) return null
  if (CONTROL.test(text)) return 'customers.search.invalid'
  if (search.mode === 'name') return [...text].length > MAX_NAME_CHARS ? 'customers.search.tooLong' : null
  return [...text].length > MAX_ID_CHARS || text.includes('#') ? 'customers.search.invalidId' : null
}

/** The query parameters of `GET /v1/customers` for a search (none when the text is empty). */
export function searchParams(search: CustomerSearch): { name?: string; external_userid?: string } {
  const text = search.text.trim()
  if (!text) return {}
  return search.mode === 'name' ? { name: text } : { external_userid: text }
}

/** The search the page's URL holds (`?name=` or `?id=`). */
export function searchFromRoute(query: Record<string, unknown>): CustomerSearch {
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v)
  const id = first(query.id)
  if (typeof id === 'string' && id.trim()) return { mode: 'id', text: id }
  const name = first(query.name)
  return { mode: 'name', text: typeof name === 'string' ? name : '' }
}

/** The URL query of a search (other parameters of the page are kept). */
export function routeQueryOf(search: CustomerSearch, rest: Record<string, unknown> = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(rest)) {
    if (k !== 'name' && k !== 'id' && typeof v === 'string') out[k] = v
  }
  const text = search.text.trim()
  if (text) out[search.mode === 'name' ? 'name' : 'id'] = text
  return out
}

/** Whether the filter text appears in the customer's name, id, tags or members. */
export function matchesCustomer(c: Customer, text: string): boolean {
  const q = text.trim().toLowerCase()
  if (!q) return true
  const hay = [
    c.name,
    c.external_userid,
    c.corp_name,
    ...(c.follow_users ?? []).flatMap((f) => [f.userid, f.remark]),
    ...customerTags(c).map((t) => t.name),
  ]
  return hay.some((h) => typeof h === 'string' && h.toLowerCase().includes(q))
}
