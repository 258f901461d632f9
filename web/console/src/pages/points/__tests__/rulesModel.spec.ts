import { describe, expect, it } from 'vitest'
import { streakPayDays, toDoc, toForm, validate, type RulesDoc } from '../rulesModel'

const stored: RulesDoc = {
  newcomer: { enabled: true, points: 20, on_contact_added: true, on_group_join: false },
  check_in: {
    enabled: true,
    base_points: 5,
    streak_tiers: [
      { days: 3, bonus: 10 },
      { days: 7, bonus: 30 },
    ],
    streak_tier_mode: 'once',
    cumulative_tiers: [{ days: 10, bonus: 50 }],
    cumulative_period: 'month',
  },
  profile: { enabled: true, points: 15, fields: ['name', 'mobile'] },
  follow_official_account: { enabled: false, points: 0 },
  follow_video_channel: { enabled: true, points: 8 },
  zero_on_leave: true,
  zero_on_leave_scope: 'any_group',
  validity_days: 365,
}

describe('rules form ↔ API document', () => {
  it('round-trips a stored document unchanged', () => {
    expect(toDoc(toForm(stored))).toEqual(stored)
  })

  it('gives an empty document the API defaults: every rule off, three blank tier rows, no expiry', () => {
    const form = toForm({})
    expect(form.newcomer.enabled).toBe(false)
    expect(form.checkIn.streakTiers).toHaveLength(3)
    expect(form.checkIn.streakTiers.every((r) => r.days == null && r.bonus == null)).toBe(true)
    expect(form.checkIn.streakTierMode).toBe('cycle')
    expect(form.zeroOnLeaveScope).toBe('community')
    expect(form.validityEnabled).toBe(false)
    const doc = toDoc(form)
    expect(doc.validity_days).toBeNull()
    expect(doc.check_in.streak_tiers).toEqual([])
    expect(validate(form)).toEqual([])
  })

  it('drops blank tier rows and sends tiers in increasing order of days', () => {
    const form = toForm({})
    form.checkIn.streakTiers = [
      { days: 15, bonus: 100 },
      { days: null, bonus: null },
      { days: 3, bonus: 10 },
    ]
    expect(toDoc(form).check_in.streak_tiers).toEqual([
      { days: 3, bonus: 10 },
      { days: 15, bonus: 100 },
    ])
  })

  it('keeps amounts typed into a rule that is switched off', () => {
    const form = toForm(stored)
    form.profile.enabled = false
    const doc = toDoc(form)
    expect(doc.profile).toEqual({ enabled: false, points: 15, fields: ['name', 'mobile'] })
  })

  it('sends profile fields in the canonical order and validity only when switched on', () => {
    const form = toForm(stored)
    form.profile.fields = ['address', 'name']
    form.validityEnabled = false
    const doc = toDoc(form)
    expect(doc.profile.fields).toEqual(['name', 'address'])
    expect(doc.validity_days).toBeNull()
  })
})

describe('rules validation mirrors the API', () => {
  it('accepts the stored document', () => {
    expect(validate(toForm(stored))).toEqual([])
  })

  it('names every problem with its API field', () => {
    const form = toForm(stored)
    form.newcomer.onContactAdded = false
    form.checkIn.streakTiers = [
      { days: 1, bonus: 10 },
      { days: 7, bonus: 0 },
      { days: null, bonus: null },
    ]
    form.checkIn.cumulativePeriod = 'week'
    form.profile.fields = []
    form.followVideoChannel.points = 0
    form.validityDays = 4000
    expect(validate(form).map((p) => p.field)).toEqual([
      'newcomer',
      'check_in.streak_tiers[0].days',
      'check_in.streak_tiers[1].bonus',
      'check_in.cumulative_tiers[0].days',
      'profile.fields',
      'follow_video_channel.points',
      'validity_days',
    ])
  })

  it('refuses two tiers of the same length and an enabled check-in that pays nothing', () => {
    const form = toForm({})
    form.checkIn.enabled = true
    expect(validate(form).map((p) => p.field)).toEqual(['check_in'])
    form.checkIn.cumulativeTiers = [
      { days: 5, bonus: 1 },
      { days: 5, bonus: 2 },
      { days: null, bonus: null },
    ]
    expect(validate(form).map((p) => p.key)).toEqual(['points.rules.problems.tierDuplicate'])
  })
})

describe('streak pay days', () => {
  const tiers = [
    { days: 3, bonus: 10 },
    { days: 7, bonus: 30 },
    { days: 15, bonus: 100 },
  ]
  it('repeats the tiers as one cycle as long as the longest tier', () => {
    expect(streakPayDays(tiers, 'cycle', 30).map((d) => d.day)).toEqual([3, 7, 15, 18, 22, 30])
  })
  it('pays each tier once per streak in once mode', () => {
    expect(streakPayDays(tiers, 'once', 30)).toEqual([
      { day: 3, bonus: 10 },
      { day: 7, bonus: 30 },
      { day: 15, bonus: 100 },
    ])
  })
})
