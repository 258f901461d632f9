import { describe, expect, it } from 'vitest'
import { currentPreview, emptyGroupForm, groupFormProblems, move, toGroupInput, type GroupCodeForm } from '../groupCodeModel'

function form(patch: Partial<GroupCodeForm> = {}): GroupCodeForm {
  return { ...emptyGroupForm(), name: '会员群', chat_ids: ['wr1', 'wr2'], ...patch }
}
const fields = (f: GroupCodeForm) => groupFormProblems(f).map((p) => p.field)

describe('group code form', () => {
  it('accepts a plain code and sends the base name only with auto-created groups', () => {
    expect(groupFormProblems(form())).toEqual([])
    expect(toGroupInput(form())).toEqual({ name: '会员群', chat_ids: ['wr1', 'wr2'], full_at: 195, auto_create_room: false })
    expect(toGroupInput(form({ auto_create_room: true, room_base_name: ' 会员群 ', room_base_id: 3 }))).toMatchObject({
      auto_create_room: true,
      room_base_name: '会员群',
      room_base_id: 3,
    })
  })

  it('names each field the API would refuse', () => {
    expect(fields(form({ name: '' }))).toContain('name')
    expect(fields(form({ chat_ids: [] }))).toContain('chat_ids')
    expect(fields(form({ chat_ids: ['wr1', 'wr1'] }))).toContain('chat_ids')
    expect(fields(form({ chat_ids: Array.from({ length: 101 }, (_, i) => `wr${i}`) }))).toContain('chat_ids')
    expect(fields(form({ full_at: 0 }))).toContain('full_at')
    expect(fields(form({ full_at: 201 }))).toContain('full_at')
    expect(fields(form({ auto_create_room: true }))).toContain('room_base_name')
    expect(fields(form({ auto_create_room: true, room_base_name: '群'.repeat(41) }))).toContain('room_base_name')
    expect(fields(form({ auto_create_room: true, room_base_name: '群', room_base_id: 0 }))).toContain('room_base_id')
  })
})

describe('the groups a code holds', () => {
  const counts: Record<string, number> = { a: 200, b: 10, c: 195, d: 0, e: 1, f: 2, g: 3, h: 4 }
  const members = (id: string) => counts[id]

  it('takes the first five groups below the full mark, in order', () => {
    expect(currentPreview(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], members, 195, false)).toEqual({
      current: ['b', 'd', 'e', 'f', 'g'],
      allFull: false,
    })
    // A group without a known count is taken as empty.
    expect(currentPreview(['x', 'a'], members, 195, false)).toEqual({ current: ['x'], allFull: false })
  })

  it('keeps the last group for WeCom to open new ones, else says every group is full', () => {
    expect(currentPreview(['a', 'c'], members, 195, true)).toEqual({ current: ['c'], allFull: false })
    expect(currentPreview(['a', 'c'], members, 195, false)).toEqual({ current: ['a', 'c'], allFull: true })
    expect(currentPreview([], members, 195, false)).toEqual({ current: [], allFull: false })
  })

  it('moves a group up or down, never past the ends', () => {
    expect(move(['a', 'b', 'c'], 1, -1)).toEqual(['b', 'a', 'c'])
    expect(move(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'b', 'c'])
    expect(move(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c'])
  })
})
