// The fission campaign editor's form and the rules the admin API applies to it (core's
// growth::fission and docs/openapi.yaml's FissionCampaignInput), checked here first so an
// operator sees every problem before saving; the API stays the judge and its problems are
// shown the same way. Also what the campaign pages derive: a campaign's phase, its tiers
// in words, and the poster's layout for the live preview.
import type { FissionCampaign, FissionCampaignInput, FissionTier } from './fissionApi'

export type RewardKind = FissionTier['reward']['kind']
export const REWARD_KINDS: RewardKind[] = ['points', 'reward', 'coupon']

/** One editable tier: the fields of every reward kind are kept, only the chosen one is sent. */
export interface TierForm {
  invites: number
  kind: RewardKind
  points: number
  reward_id: string
  list_id: string
}

export interface PosterForm {
  background_url: string
  width: number
  height: number
  name: { x: number; y: number; size: number; color: string }
  avatar: { x: number; y: number; size: number }
  qr: { x: number; y: number; size: number }
}

export interface FissionForm {
  name: string
  /** ISO 8601 with the browser's offset (what the date picker gives). */
  starts_at: string
  ends_at: string
  tiers: TierForm[]
  /** 0: no cap. */
  cap_per_inviter: number
  hold_hours: number
  tags: string[]
  /** How invitees come in: by adding staff (a 「联系我」 code) or by joining groups (「加入群聊」). */
  joins: 'contact' | 'group'
  userids: string[]
  /** A group campaign's groups (1 to 5). */
  chat_ids: string[]
  poster: PosterForm
}

/** A problem: the API's field path and an i18n key of `fission.problem.*` with its values. */
export interface Problem {
  field: string
  message: string
  params?: Record<string, unknown>
}

// The limits of core's growth::fission and the spec.
export const NAME_CHARS = 64
export const MAX_TIERS = 5
export const MAX_TIER_INVITES = 10_000
export const MAX_TIER_POINTS = 1_000_000
export const MAX_HOLD_HOURS = 720
export const DEFAULT_HOLD_HOURS = 24
export const MAX_CAP = 10_000
export const MAX_TAGS = 20
export const MAX_DAYS = 366
export const MAX_USERIDS = 100
/** A group campaign's groups: what one 「加入群聊」 code offers. */
export const MAX_CHATS = 5
export const ID_BYTES = 64
export const URL_CHARS = 1024
export const POSTER = {
  width: [300, 2000],
  height: [300, 4000],
  nameSize: [12, 120],
  avatarSize: [24, 600],
  qrSize: [100, 1000],
} as const
const USERID = /^[A-Za-z0-9_.@-]{1,64}$/
const COLOR = /^#[0-9a-fA-F]{6}$/
const HTTP_URL = /^https?:\/\/\S+$/
const DAY_MS = 86_400_000

/** `date` as ISO 8601 in the browser's zone, to the second (`2026-12-01T09:30:00+08:00`). */
export function isoLocal(date: Date): string {
  const pad = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, '0')
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  )
}

export function emptyTier(invites = 1): TierForm {
  return { invites, kind: 'points', points: 100, reward_id: '', list_id: '' }
}

/** A 750 × 1334 poster (a phone screen at 2×): avatar and name at the bottom left, the QR code at the right. */
export function defaultPoster(): PosterForm {
  return {
    background_url: '',
    width: 750,
    height: 1334,
    name: { x: 150, y: 1190, size: 32, color: '#333333' },
    avatar: { x: 40, y: 1130, size: 96 },
    qr: { x: 490, y: 1074, size: 220 },
  }
}

/** A new campaign: from this minute for 30 days, one tier, the default hold. */
export function emptyFissionForm(now: Date = new Date()): FissionForm {
  const start = new Date(now)
  start.setSeconds(0, 0)
  return {
    name: '',
    starts_at: isoLocal(start),
    ends_at: isoLocal(new Date(start.getTime() + 30 * DAY_MS)),
    tiers: [emptyTier(3)],
    cap_per_inviter: 0,
    hold_hours: DEFAULT_HOLD_HOURS,
    tags: [],
    joins: 'contact',
    userids: [],
    chat_ids: [],
    poster: defaultPoster(),
  }
}

function tierInput(t: TierForm): FissionTier {
  const reward: FissionTier['reward'] =
    t.kind === 'points'
      ? { kind: 'points', points: t.points }
      : t.kind === 'reward'
        ? { kind: 'reward', reward_id: t.reward_id.trim() }
        : { kind: 'coupon', list_id: t.list_id.trim() }
  return { invites: t.invites, reward }
}

/** The create body: instants in UTC, the cap left out when there is none. */
export function toFissionInput(f: FissionForm): FissionCampaignInput {
  const p = f.poster
  const input: FissionCampaignInput = {
    name: f.name.trim(),
    starts_at: new Date(f.starts_at).toISOString(),
    ends_at: new Date(f.ends_at).toISOString(),
    tiers: f.tiers.map(tierInput),
    hold_hours: f.hold_hours,
    tags: [...f.tags],
    poster: {
      background_url: p.background_url.trim(),
      width: p.width,
      height: p.height,
      name: { ...p.name },
      avatar: { ...p.avatar },
      qr: { ...p.qr },
    },
  }
  if (f.cap_per_inviter > 0) input.cap_per_inviter = f.cap_per_inviter
  if (f.joins === 'group') input.chat_ids = [...f.chat_ids]
  else input.userids = f.userids.map((u) => u.trim())
  return input
}

/** The form of a stored campaign (for its edit): instants in the browser's zone, no cap as 0. */
export function formOfCampaign(c: FissionCampaign): FissionForm {
  const p = c.poster
  return {
    name: c.name,
    starts_at: isoLocal(new Date(c.starts_at)),
    ends_at: isoLocal(new Date(c.ends_at)),
    tiers: c.tiers.map((t) => ({
      ...emptyTier(t.invites),
      kind: t.reward.kind,
      points: t.reward.kind === 'points' ? t.reward.points : 100,
      reward_id: t.reward.kind === 'reward' ? t.reward.reward_id : '',
      list_id: t.reward.kind === 'coupon' ? t.reward.list_id : '',
    })),
    cap_per_inviter: c.cap_per_inviter ?? 0,
    hold_hours: c.hold_hours ?? DEFAULT_HOLD_HOURS,
    tags: [...(c.tags ?? [])],
    joins: c.chat_ids?.length ? 'group' : 'contact',
    userids: [...(c.userids ?? [])],
    chat_ids: [...(c.chat_ids ?? [])],
    poster: { ...p, name: { ...p.name }, avatar: { ...p.avatar }, qr: { ...p.qr } },
  }
}

/** What may still change once a campaign has started (the API refuses any other change). */
export const EDITABLE_AFTER_START = ['name', 'ends_at', 'cap_per_inviter'] as const

/** Whether a campaign has started at `now` (its edit is then limited to the name, end and cap). */
export function hasStarted(c: Pick<FissionCampaign, 'starts_at'>, now: number = Date.now()): boolean {
  return now >= new Date(c.starts_at).getTime()
}

// The limits of core's growth::fission_coupons and the spec.
export const MAX_CODES_PER_REQUEST = 10_000
export const CODE_CHARS = 64
export const LIST_NAME_CHARS = 64

/** Codes as the API reads CSV text: split on line breaks and commas, trimmed, quotes and blanks dropped. */
export function codesOfText(text: string): string[] {
  return text
    .split(/[\r\n,]/)
    .map((c) => c.trim().replace(/^"+|"+$/g, '').trim())
    .filter((c) => c.length > 0)
}

/** The problem of codes typed or pasted (an i18n key of `fission.coupons.problem.*`), or null. */
export function codesProblem(codes: string[], required: boolean): Problem | null {
  if (!codes.length) return required ? { field: 'codes', message: 'fission.coupons.problem.none' } : null
  if (codes.length > MAX_CODES_PER_REQUEST) return { field: 'codes', message: 'fission.coupons.problem.tooMany', params: { max: MAX_CODES_PER_REQUEST } }
  const bad = codes.findIndex((c) => [...c].length > CODE_CHARS || /\s/.test(c))
  if (bad >= 0) return { field: `codes[${bad}]`, message: 'fission.coupons.problem.code', params: { code: codes[bad], max: CODE_CHARS } }
  return null
}

const utf8 = new TextEncoder()
/** What core calls an id: 1 to 64 bytes without whitespace. */
function idLike(s: string): boolean {
  const n = utf8.encode(s).length
  return n > 0 && n <= ID_BYTES && !/\s/.test(s)
}
const int = (n: unknown, min: number, max: number) => Number.isInteger(n) && (n as number) >= min && (n as number) <= max
const time = (s: string) => {
  const ms = s ? new Date(s).getTime() : NaN
  return Number.isNaN(ms) ? null : ms
}

/** Every problem of the poster's template (fields `poster.*`). */
export function posterProblems(p: PosterForm): Problem[] {
  const out: Problem[] = []
  const add = (field: string, message: string, params?: Record<string, unknown>) => out.push({ field: `poster.${field}`, message, params })
  const url = p.background_url.trim()
  if (url.length < 8 || url.length > URL_CHARS || !HTTP_URL.test(url)) add('background_url', 'fission.problem.backgroundUrl')
  const widthOk = int(p.width, ...POSTER.width)
  const heightOk = int(p.height, ...POSTER.height)
  if (!widthOk) add('width', 'fission.problem.range', { min: POSTER.width[0], max: POSTER.width[1] })
  if (!heightOk) add('height', 'fission.problem.range', { min: POSTER.height[0], max: POSTER.height[1] })
  const inside = (x: number, y: number, w: number, h: number) =>
    !widthOk || !heightOk || (x >= 0 && y >= 0 && x + w <= p.width && y + h <= p.height)

  const n = p.name
  if (!int(n.size, ...POSTER.nameSize)) add('name.size', 'fission.problem.range', { min: POSTER.nameSize[0], max: POSTER.nameSize[1] })
  else if (!int(n.x, 0, 2000) || !int(n.y, 0, 4000) || !inside(n.x, n.y - n.size, 0, n.size)) add('name', 'fission.problem.nameOutside')
  if (!COLOR.test(n.color)) add('name.color', 'fission.problem.color')
  for (const el of ['avatar', 'qr'] as const) {
    const e = p[el]
    const [min, max] = el === 'avatar' ? POSTER.avatarSize : POSTER.qrSize
    if (!int(e.size, min, max)) add(`${el}.size`, 'fission.problem.range', { min, max })
    else if (!int(e.x, 0, 2000) || !int(e.y, 0, 4000) || !inside(e.x, e.y, e.size, e.size)) add(el, 'fission.problem.outside')
  }
  return out
}

/** Every problem of the form, with the API's field paths. */
export function fissionFormProblems(f: FissionForm): Problem[] {
  const out: Problem[] = []
  const add = (field: string, message: string, params?: Record<string, unknown>) => out.push({ field, message, params })
  const name = f.name.trim()
  if (!name || [...name].length > NAME_CHARS) add('name', 'fission.problem.name')

  const start = time(f.starts_at)
  const end = time(f.ends_at)
  if (start === null) add('starts_at', 'fission.problem.time')
  if (end === null) add('ends_at', 'fission.problem.time')
  else if (start !== null && end <= start) add('ends_at', 'fission.problem.endBeforeStart')
  else if (start !== null && end - start > MAX_DAYS * DAY_MS) add('ends_at', 'fission.problem.tooLong', { days: MAX_DAYS })

  if (!f.tiers.length || f.tiers.length > MAX_TIERS) add('tiers', 'fission.problem.tiers', { max: MAX_TIERS })
  let previous = 0
  f.tiers.forEach((t, i) => {
    const field = `tiers[${i}]`
    if (!int(t.invites, 1, MAX_TIER_INVITES)) add(`${field}.invites`, 'fission.problem.range', { min: 1, max: MAX_TIER_INVITES })
    else if (t.invites <= previous) add(`${field}.invites`, 'fission.problem.increasing', { previous })
    if (Number.isInteger(t.invites)) previous = Math.max(previous, t.invites)
    if (t.kind === 'points' && !int(t.points, 1, MAX_TIER_POINTS)) add(`${field}.reward.points`, 'fission.problem.range', { min: 1, max: MAX_TIER_POINTS })
    if (t.kind === 'reward' && !idLike(t.reward_id.trim())) add(`${field}.reward`, 'fission.problem.rewardId')
    if (t.kind === 'coupon' && !idLike(t.list_id.trim())) add(`${field}.reward`, 'fission.problem.listId')
  })

  if (f.cap_per_inviter !== 0) {
    const last = f.tiers[f.tiers.length - 1]
    if (!int(f.cap_per_inviter, 1, MAX_CAP)) add('cap_per_inviter', 'fission.problem.range', { min: 1, max: MAX_CAP })
    else if (last && Number.isInteger(last.invites) && f.cap_per_inviter < last.invites) add('cap_per_inviter', 'fission.problem.capBelowTier', { invites: last.invites })
  }
  if (!int(f.hold_hours, 0, MAX_HOLD_HOURS)) add('hold_hours', 'fission.problem.range', { min: 0, max: MAX_HOLD_HOURS })

  if (f.tags.length > MAX_TAGS) add('tags', 'fission.problem.tooManyTags', { max: MAX_TAGS })
  if (new Set(f.tags).size !== f.tags.length) add('tags', 'fission.problem.duplicates')
  f.tags.forEach((tag, i) => {
    if (!idLike(tag)) add(`tags[${i}]`, 'fission.problem.tag')
  })

  if (f.joins === 'group') {
    if (!f.chat_ids.length || f.chat_ids.length > MAX_CHATS) add('chat_ids', 'fission.problem.chatIds', { max: MAX_CHATS })
    if (new Set(f.chat_ids).size !== f.chat_ids.length) add('chat_ids', 'fission.problem.duplicates')
  } else {
    const userids = f.userids.map((u) => u.trim())
    if (!userids.length || userids.length > MAX_USERIDS) add('userids', 'fission.problem.userids', { max: MAX_USERIDS })
    if (new Set(userids).size !== userids.length) add('userids', 'fission.problem.duplicates')
    userids.forEach((u, i) => {
      if (!USERID.test(u)) add(`userids[${i}]`, 'fission.problem.userid', { userid: u })
    })
  }

  out.push(...posterProblems(f.poster))
  return out
}

/**
 * Where a campaign is for people: `upcoming` before its start, `running` until its end,
 * `finished` after it (still `active` for the API while the last holds run out), `ended` when
 * an operator ended it early.
 */
export type Phase = 'upcoming' | 'running' | 'finished' | 'ended'
export function phaseOf(c: Pick<FissionCampaign, 'status' | 'starts_at' | 'ends_at'>, now: number = Date.now()): Phase {
  if (c.status === 'ended') return 'ended'
  if (now < new Date(c.starts_at).getTime()) return 'upcoming'
  if (now >= new Date(c.ends_at).getTime()) return 'finished'
  return 'running'
}

/** A tier's reward as an i18n key and its values. */
export function rewardText(r: FissionTier['reward']): { key: string; params: Record<string, unknown> } {
  if (r.kind === 'points') return { key: 'fission.reward.points', params: { n: r.points } }
  if (r.kind === 'reward') return { key: 'fission.reward.reward', params: { id: r.reward_id } }
  return { key: 'fission.reward.coupon', params: { id: r.list_id } }
}
