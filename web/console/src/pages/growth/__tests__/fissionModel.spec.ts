import { describe, expect, it } from 'vitest'
import {
  codesOfText,
  codesProblem,
  emptyFissionForm,
  fissionFormProblems,
  formOfCampaign,
  isoLocal,
  phaseOf,
  posterProblems,
  toFissionInput,
  type FissionForm,
} from '../fissionModel'
import type { FissionCampaign } from '../fissionApi'

const NOW = new Date('2026-12-01T08:00:00Z')

/** A form the API accepts. */
function good(): FissionForm {
  const f = emptyFissionForm(NOW)
  f.name = '邀请有礼'
  f.userids = ['zhangsan']
  f.poster.background_url = 'https://cdn.example.com/poster.png'
  return f
}
const fields = (f: FissionForm) => fissionFormProblems(f).map((p) => p.field)

describe('the fission campaign form', () => {
  it('a new form needs only a name, a staff member and a background', () => {
    const f = emptyFissionForm(NOW)
    expect(fields(f).sort()).toEqual(['name', 'poster.background_url', 'userids'])
    expect(fissionFormProblems(good())).toEqual([])
  })

  it('runs 30 days from this minute, and sends instants in UTC', () => {
    const input = toFissionInput(good())
    expect(input.starts_at).toBe('2026-12-01T08:00:00.000Z')
    expect(input.ends_at).toBe('2026-12-31T08:00:00.000Z')
    expect(new Date(isoLocal(NOW)).getTime()).toBe(NOW.getTime())
  })

  it('ends after it starts, and at most 366 days later', () => {
    const f = good()
    f.ends_at = f.starts_at
    expect(fields(f)).toEqual(['ends_at'])
    f.ends_at = isoLocal(new Date(NOW.getTime() + 367 * 86_400_000))
    expect(fissionFormProblems(f)).toEqual([{ field: 'ends_at', message: 'fission.problem.tooLong', params: { days: 366 } }])
    f.ends_at = isoLocal(new Date(NOW.getTime() + 366 * 86_400_000))
    expect(fields(f)).toEqual([])
  })

  it('wants 1 to 5 tiers with strictly increasing invites', () => {
    const f = good()
    f.tiers = []
    expect(fields(f)).toEqual(['tiers'])
    f.tiers = [1, 3, 3, 2].map((invites) => ({ invites, kind: 'points' as const, points: 10, reward_id: '', list_id: '' }))
    expect(fissionFormProblems(f)).toEqual([
      { field: 'tiers[2].invites', message: 'fission.problem.increasing', params: { previous: 3 } },
      { field: 'tiers[3].invites', message: 'fission.problem.increasing', params: { previous: 3 } },
    ])
    f.tiers = [1, 2, 3, 4, 5, 6].map((invites) => ({ invites, kind: 'points' as const, points: 10, reward_id: '', list_id: '' }))
    expect(fields(f)).toEqual(['tiers'])
    f.tiers = [{ invites: 10_001, kind: 'points', points: 10, reward_id: '', list_id: '' }]
    expect(fields(f)).toEqual(['tiers[0].invites'])
  })

  it('checks only the chosen reward kind, and sends only its field', () => {
    const f = good()
    f.tiers = [
      { invites: 1, kind: 'points', points: 0, reward_id: 'ignored', list_id: '' },
      { invites: 2, kind: 'reward', points: 0, reward_id: ' ', list_id: '' },
      { invites: 3, kind: 'coupon', points: 0, reward_id: '', list_id: 'has space' },
    ]
    expect(fields(f)).toEqual(['tiers[0].reward.points', 'tiers[1].reward', 'tiers[2].reward'])
    f.tiers[0].points = 1_000_000
    f.tiers[1].reward_id = 'rw1'
    f.tiers[2].list_id = 'cl-2026'
    expect(fields(f)).toEqual([])
    expect(toFissionInput(f).tiers).toEqual([
      { invites: 1, reward: { kind: 'points', points: 1_000_000 } },
      { invites: 2, reward: { kind: 'reward', reward_id: 'rw1' } },
      { invites: 3, reward: { kind: 'coupon', list_id: 'cl-2026' } },
    ])
  })

  it('a cap, when set, reaches the last tier; none is left out of the body', () => {
    const f = good()
    f.tiers = [{ invites: 5, kind: 'points', points: 10, reward_id: '', list_id: '' }]
    f.cap_per_inviter = 4
    expect(fissionFormProblems(f)).toEqual([{ field: 'cap_per_inviter', message: 'fission.problem.capBelowTier', params: { invites: 5 } }])
    f.cap_per_inviter = 5
    expect(toFissionInput(f).cap_per_inviter).toBe(5)
    f.cap_per_inviter = 0
    expect('cap_per_inviter' in toFissionInput(f)).toBe(false)
  })

  it('holds 0 to 720 hours', () => {
    const f = good()
    f.hold_hours = 721
    expect(fields(f)).toEqual(['hold_hours'])
    f.hold_hours = 0
    expect(fields(f)).toEqual([])
  })

  it('wants distinct staff userids and tags of the right shape', () => {
    const f = good()
    f.userids = ['zhangsan', 'zhangsan', 'li si']
    f.tags = ['et1', 'et1']
    expect(fields(f)).toEqual(['tags', 'userids', 'userids[2]'])
    f.userids = []
    f.tags = Array.from({ length: 21 }, (_, i) => `et${i}`)
    expect(fields(f)).toEqual(['tags', 'userids'])
  })
})

describe('the poster template', () => {
  it('keeps every element inside the canvas', () => {
    const p = good().poster
    expect(posterProblems(p)).toEqual([])
    p.qr.x = p.width - p.qr.size + 1
    p.avatar.y = p.height - p.avatar.size + 1
    // The name's y is its baseline: the text rises above it by its size.
    p.name.y = p.name.size - 1
    expect(posterProblems(p).map((x) => x.field)).toEqual(['poster.name', 'poster.avatar', 'poster.qr'])
  })

  it('wants an http(s) background, a canvas in bounds and a #RRGGBB colour', () => {
    const p = good().poster
    p.background_url = 'ftp://x.example.com/a.png'
    p.width = 200
    p.name.color = 'red'
    expect(posterProblems(p).map((x) => x.field)).toEqual(['poster.background_url', 'poster.width', 'poster.name.color'])
  })
})

describe('a campaign’s phase', () => {
  const c = { status: 'active' as const, starts_at: '2026-12-01T00:00:00Z', ends_at: '2026-12-31T00:00:00Z' }
  it('follows its dates, and an early end', () => {
    expect(phaseOf(c, Date.parse('2026-11-30T23:59:59Z'))).toBe('upcoming')
    expect(phaseOf(c, Date.parse('2026-12-01T00:00:00Z'))).toBe('running')
    expect(phaseOf(c, Date.parse('2026-12-31T00:00:00Z'))).toBe('finished')
    expect(phaseOf({ ...c, status: 'ended' }, Date.parse('2026-12-10T00:00:00Z'))).toBe('ended')
  })
})

describe('coupon codes as typed or pasted', () => {
  it('splits CSV text on lines and commas, dropping quotes and blanks', () => {
    expect(codesOfText('A1\r\nA2, A3\n\n"A4",')).toEqual(['A1', 'A2', 'A3', 'A4'])
  })
  it('names the first bad code, and asks for one when they are required', () => {
    expect(codesProblem(['ok', 'has space'], true)).toMatchObject({ field: 'codes[1]', message: 'fission.coupons.problem.code' })
    expect(codesProblem([], true)?.message).toBe('fission.coupons.problem.none')
    expect(codesProblem([], false)).toBeNull()
    expect(codesProblem(['x'.repeat(65)], true)?.field).toBe('codes[0]')
  })
})

describe('a group campaign', () => {
  it('sends its groups instead of staff, 1 to 5 distinct', () => {
    const f = good()
    f.joins = 'group'
    expect(fields(f)).toEqual(['chat_ids'])
    f.chat_ids = ['wr1', 'wr2']
    expect(fissionFormProblems(f)).toEqual([])
    const input = toFissionInput(f)
    expect(input.chat_ids).toEqual(['wr1', 'wr2'])
    expect(input.userids).toBeUndefined()
    f.chat_ids = ['wr1', 'wr1', 'wr2', 'wr3', 'wr4', 'wr5']
    expect(fields(f)).toEqual(['chat_ids', 'chat_ids'])
  })

  it('comes back from the API as a group campaign', () => {
    const f = good()
    f.joins = 'group'
    f.chat_ids = ['wr9']
    const input = toFissionInput(f)
    const stored = { ...input, userids: [], id: 'fc00112233445566aa', status: 'active', version: 1, created_at: input.starts_at, updated_at: input.starts_at } as FissionCampaign
    const back = formOfCampaign(stored)
    expect([back.joins, back.chat_ids]).toEqual(['group', ['wr9']])
    expect(toFissionInput(back)).toEqual(input)
  })
})

describe('a stored campaign as the edit form', () => {
  it('round-trips through the form to the same input', () => {
    const input = toFissionInput({ ...emptyFissionForm(new Date('2026-12-01T00:00:00Z')), name: '邀请有礼', userids: ['amy'], cap_per_inviter: 9 })
    input.tiers = [
      { invites: 1, reward: { kind: 'coupon', list_id: 'cl00112233445566' } },
      { invites: 3, reward: { kind: 'reward', reward_id: 'rw1' } },
    ]
    const stored = { ...input, id: 'fc00112233445566aa', status: 'active', version: 3, created_at: input.starts_at, updated_at: input.starts_at } as FissionCampaign
    expect(toFissionInput(formOfCampaign(stored))).toEqual(input)
  })
})
