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
