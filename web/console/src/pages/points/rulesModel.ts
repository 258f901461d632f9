// The earning-rules editor's model: the API's rules document (`GET/PUT /v1/points/rules`)
// turned into a form that always has every field (three tier rows, a validity switch) and
// back. The form keeps what an operator typed even when a rule is off, so switching a
// rule off and on again loses nothing; the document sent is exactly what the API stores.

export type ProfileField = 'name' | 'mobile' | 'wechat_id' | 'address'
export const PROFILE_FIELDS: ProfileField[] = ['name', 'mobile', 'wechat_id', 'address']
export const MAX_TIERS = 3
export const MAX_POINTS = 100_000_000
export const MAX_VALIDITY_DAYS = 3650

export interface Tier {
  days: number
  bonus: number
}

/** The API's rules document (components.schemas.PointsRules). */
export interface RulesDoc {
  newcomer?: { enabled?: boolean; points?: number; on_contact_added?: boolean; on_group_join?: boolean }
  check_in?: {
    enabled?: boolean
    base_points?: number
    streak_tiers?: Tier[]
    streak_tier_mode?: 'cycle' | 'once'
    cumulative_tiers?: Tier[]
    cumulative_period?: 'week' | 'month'
  }
  profile?: { enabled?: boolean; points?: number; fields?: ProfileField[] }
  follow_official_account?: { enabled?: boolean; points?: number }
  follow_video_channel?: { enabled?: boolean; points?: number }
  zero_on_leave?: boolean
  zero_on_leave_scope?: 'community' | 'any_group'
  validity_days?: number | null
}

/** A tier row of the form: empty rows (both blank) are dropped when saving. */
export interface TierRow {
  days: number | null
  bonus: number | null
}

export interface RulesForm {
  newcomer: { enabled: boolean; points: number; onContactAdded: boolean; onGroupJoin: boolean }
  checkIn: {
    enabled: boolean
    basePoints: number
    streakTiers: TierRow[]
    streakTierMode: 'cycle' | 'once'
    cumulativeTiers: TierRow[]
    cumulativePeriod: 'week' | 'month'
  }
  profile: { enabled: boolean; points: number; fields: ProfileField[] }
  followOfficialAccount: { enabled: boolean; points: number }
  followVideoChannel: { enabled: boolean; points: number }
  zeroOnLeave: boolean
  zeroOnLeaveScope: 'community' | 'any_group'
  validityEnabled: boolean
  validityDays: number
}

function rows(tiers: Tier[] | undefined): TierRow[] {
  const out: TierRow[] = (tiers ?? []).slice(0, MAX_TIERS).map((t) => ({ days: t.days, bonus: t.bonus }))
  while (out.length < MAX_TIERS) out.push({ days: null, bonus: null })
  return out
}

/** The form for a rules document (missing parts take the API's defaults: off, zero). */
export function toForm(doc: RulesDoc | null | undefined): RulesForm {
  const d = doc ?? {}
  const c = d.check_in ?? {}
  return {
    newcomer: {
      enabled: d.newcomer?.enabled ?? false,
      points: d.newcomer?.points ?? 0,
      onContactAdded: d.newcomer?.on_contact_added ?? false,
      onGroupJoin: d.newcomer?.on_group_join ?? false,
    },
    checkIn: {
      enabled: c.enabled ?? false,
      basePoints: c.base_points ?? 0,
      streakTiers: rows(c.streak_tiers),
      streakTierMode: c.streak_tier_mode ?? 'cycle',
      cumulativeTiers: rows(c.cumulative_tiers),
      cumulativePeriod: c.cumulative_period ?? 'month',
    },
    profile: {
      enabled: d.profile?.enabled ?? false,
      points: d.profile?.points ?? 0,
      fields: [...(d.profile?.fields ?? [])],
    },
    followOfficialAccount: {
      enabled: d.follow_official_account?.enabled ?? false,
      points: d.follow_official_account?.points ?? 0,
    },
    followVideoChannel: {
      enabled: d.follow_video_channel?.enabled ?? false,
      points: d.follow_video_channel?.points ?? 0,
    },
    zeroOnLeave: d.zero_on_leave ?? false,
    zeroOnLeaveScope: d.zero_on_leave_scope ?? 'community',
    validityEnabled: d.validity_days != null,
    validityDays: d.validity_days ?? 365,
  }
}

function tiers(rows: TierRow[]): Tier[] {
  return rows
    .filter((r) => r.days != null || r.bonus != null)
    .map((r) => ({ days: r.days ?? 0, bonus: r.bonus ?? 0 }))
    .sort((a, b) => a.days - b.days)
}

/** The rules document for a form: blank tier rows dropped, tiers in increasing order of days. */
export function toDoc(form: RulesForm): Required<RulesDoc> {
  const c = form.checkIn
  // Keep profile fields in the canonical order so that an unchanged form saves an unchanged document.
  const fields = PROFILE_FIELDS.filter((f) => form.profile.fields.includes(f))
  return {
    newcomer: {
      enabled: form.newcomer.enabled,
      points: form.newcomer.points,
      on_contact_added: form.newcomer.onContactAdded,
      on_group_join: form.newcomer.onGroupJoin,
    },
    check_in: {
      enabled: c.enabled,
      base_points: c.basePoints,
      streak_tiers: tiers(c.streakTiers),
      streak_tier_mode: c.streakTierMode,
      cumulative_tiers: tiers(c.cumulativeTiers),
      cumulative_period: c.cumulativePeriod,
    },
    profile: { enabled: form.profile.enabled, points: form.profile.points, fields },
    follow_official_account: { ...form.followOfficialAccount },
    follow_video_channel: { ...form.followVideoChannel },
    zero_on_leave: form.zeroOnLeave,
    zero_on_leave_scope: form.zeroOnLeaveScope,
    validity_days: form.validityEnabled ? form.validityDays : null,
  }
}

/** A problem found before saving: the API's field path and an i18n key (with its values). */
export interface FormProblem {
  field: string
  key: string
  values?: Record<string, number>
}

function amount(out: FormProblem[], field: string, value: number, enabled: boolean, zeroAllowed = false) {
  if (!Number.isInteger(value) || value < 0 || value > MAX_POINTS) {
    out.push({ field, key: 'points.rules.problems.amountRange', values: { max: MAX_POINTS } })
  } else if (enabled && value === 0 && !zeroAllowed) {
    out.push({ field, key: 'points.rules.problems.amountZero' })
  }
}

function tierProblems(out: FormProblem[], field: string, list: Tier[], maxDays: number) {
  let last = 0
  list.forEach((t, i) => {
    if (!Number.isInteger(t.days) || t.days < 2 || t.days > maxDays) {
      out.push({ field: `${field}[${i}].days`, key: 'points.rules.problems.tierDays', values: { max: maxDays } })
    } else if (t.days === last) {
      out.push({ field: `${field}[${i}].days`, key: 'points.rules.problems.tierDuplicate' })
    }
    last = t.days
    if (!Number.isInteger(t.bonus) || t.bonus < 1 || t.bonus > MAX_POINTS) {
      out.push({ field: `${field}[${i}].bonus`, key: 'points.rules.problems.tierBonus', values: { max: MAX_POINTS } })
    }
  })
}

/**
 * The problems the API would refuse the document for (the same rules as the server's
 * validation), so the operator sees them all at once beside the fields; the server stays
 * the judge and its message is shown if it still refuses.
 */
export function validate(form: RulesForm): FormProblem[] {
  const out: FormProblem[] = []
  const doc = toDoc(form)
  const n = form.newcomer
  amount(out, 'newcomer.points', n.points, n.enabled)
  if (n.enabled && !n.onContactAdded && !n.onGroupJoin) {
    out.push({ field: 'newcomer', key: 'points.rules.problems.newcomerTrigger' })
  }
  const c = form.checkIn
  amount(out, 'check_in.base_points', c.basePoints, c.enabled, true)
  tierProblems(out, 'check_in.streak_tiers', doc.check_in.streak_tiers ?? [], 366)
  const cumulativeMax = c.cumulativePeriod === 'week' ? 7 : 31
  tierProblems(out, 'check_in.cumulative_tiers', doc.check_in.cumulative_tiers ?? [], cumulativeMax)
  if (c.enabled && c.basePoints === 0 && !doc.check_in.streak_tiers?.length && !doc.check_in.cumulative_tiers?.length) {
    out.push({ field: 'check_in', key: 'points.rules.problems.checkInPays' })
  }
  amount(out, 'profile.points', form.profile.points, form.profile.enabled)
  if (form.profile.enabled && form.profile.fields.length === 0) {
    out.push({ field: 'profile.fields', key: 'points.rules.problems.profileFields' })
  }
  amount(out, 'follow_official_account.points', form.followOfficialAccount.points, form.followOfficialAccount.enabled)
  amount(out, 'follow_video_channel.points', form.followVideoChannel.points, form.followVideoChannel.enabled)
  if (form.validityEnabled) {
    const v = form.validityDays
    if (!Number.isInteger(v) || v < 1 || v > MAX_VALIDITY_DAYS) {
      out.push({ field: 'validity_days', key: 'points.rules.problems.validity', values: { max: MAX_VALIDITY_DAYS } })
    }
  }
  return out
}

/**
 * The days of a streak (1..upTo) on which a streak tier pays, and how much: in `cycle` mode
 * the tiers repeat every longest-tier days, in `once` mode each pays on its day only. Shown
 * beside the tiers so that an operator sees what "cycle" means before saving.
 */
export function streakPayDays(tiersIn: Tier[], mode: 'cycle' | 'once', upTo: number): { day: number; bonus: number }[] {
  const list = [...tiersIn].filter((t) => t.days >= 2 && t.bonus > 0).sort((a, b) => a.days - b.days)
  if (list.length === 0) return []
  const cycle = list[list.length - 1].days
  const out: { day: number; bonus: number }[] = []
  for (let day = 1; day <= upTo; day += 1) {
    const pos = mode === 'cycle' ? ((day - 1) % cycle) + 1 : day
    const tier = list.find((t) => t.days === pos)
    if (tier) out.push({ day, bonus: tier.bonus })
  }
  return out
}
