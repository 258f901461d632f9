// The group code editor's form, the API's rules for it (checked here first, the API stays
// the judge) and a preview of the groups WeCom's code will hold: the first five of the pool,
// in order, that are not full.
import type { GroupCode, GroupCodeInput } from './growthApi'

export const NAME_CHARS = 64
export const MAX_POOL = 100
export const JOIN_WAY_CHATS = 5
export const QR_JOIN_LIMIT = 200
export const DEFAULT_FULL_AT = 195
export const ROOM_BASE_CHARS = 40

export interface GroupCodeForm {
  name: string
  chat_ids: string[]
  full_at: number
  auto_create_room: boolean
  room_base_name: string
  room_base_id: number
}

export interface Problem {
  field: string
  message: string
}

export function emptyGroupForm(): GroupCodeForm {
  return { name: '', chat_ids: [], full_at: DEFAULT_FULL_AT, auto_create_room: false, room_base_name: '', room_base_id: 1 }
}

export function fromGroupCode(c: GroupCode): GroupCodeForm {
  return {
    name: c.name,
    chat_ids: [...c.chat_ids],
    full_at: c.full_at ?? DEFAULT_FULL_AT,
    auto_create_room: c.auto_create_room ?? false,
    room_base_name: c.room_base_name ?? '',
    room_base_id: c.room_base_id ?? 1,
  }
}

export function toGroupInput(f: GroupCodeForm): GroupCodeInput {
  const input: GroupCodeInput = { name: f.name.trim(), chat_ids: [...f.chat_ids], full_at: f.full_at, auto_create_room: f.auto_create_room }
  if (f.auto_create_room) {
    input.room_base_name = f.room_base_name.trim()
    input.room_base_id = f.room_base_id
  }
  return input
}

/** Every problem, as i18n keys of `growth.groupProblem.*` per field. */
export function groupFormProblems(f: GroupCodeForm): Problem[] {
  const out: Problem[] = []
  const p = (field: string, message: string) => out.push({ field, message })
  const name = f.name.trim()
  if (!name || [...name].length > NAME_CHARS) p('name', 'growth.groupProblem.name')
  if (!f.chat_ids.length) p('chat_ids', 'growth.groupProblem.noGroups')
  if (f.chat_ids.length > MAX_POOL) p('chat_ids', 'growth.groupProblem.tooManyGroups')
  if (new Set(f.chat_ids).size !== f.chat_ids.length) p('chat_ids', 'growth.groupProblem.duplicates')
  if (!Number.isInteger(f.full_at) || f.full_at < 1 || f.full_at > QR_JOIN_LIMIT) p('full_at', 'growth.groupProblem.fullAt')
  if (f.auto_create_room) {
    const base = f.room_base_name.trim()
    if (!base) p('room_base_name', 'growth.groupProblem.baseNameRequired')
    else if ([...base].length > ROOM_BASE_CHARS) p('room_base_name', 'growth.groupProblem.baseNameTooLong')
    if (!Number.isInteger(f.room_base_id) || f.room_base_id < 1) p('room_base_id', 'growth.groupProblem.baseId')
  }
  return out
}

/**
 * The groups WeCom's code would hold, given each group's members now: the first five of the
 * pool below `full_at`; none left → with auto-created groups the last one (WeCom opens new
 * groups when it fills), else the last five, all full.
 */
export function currentPreview(
  pool: string[],
  members: (chatId: string) => number | undefined,
  fullAt: number,
  autoCreate: boolean,
): { current: string[]; allFull: boolean } {
  const open = pool.filter((id) => (members(id) ?? 0) < fullAt).slice(0, JOIN_WAY_CHATS)
  if (open.length) return { current: open, allFull: false }
  if (!pool.length) return { current: [], allFull: false }
  if (autoCreate) return { current: pool.slice(-1), allFull: false }
  return { current: pool.slice(-JOIN_WAY_CHATS), allFull: true }
}

/** Moves the pool's item at `i` by `step` (−1 up, +1 down), if it can move. */
export function move<T>(list: T[], i: number, step: -1 | 1): T[] {
  const j = i + step
  if (j < 0 || j >= list.length) return list
  const out = [...list]
  ;[out[i], out[j]] = [out[j], out[i]]
  return out
}
