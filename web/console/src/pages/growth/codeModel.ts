// The channel code editor's form and the rules the admin API applies to it (core's
// growth::model), checked here first so an operator sees every problem before saving; the
// API stays the judge and its problems are shown the same way.
import type { ChannelCode, ChannelCodeInput, ChannelShift, Welcome, WelcomeAttachment } from './growthApi'

export type CodeKind = 'single' | 'multi'
export type AttachmentType = WelcomeAttachment['type']

/** One editable shift: who, which ISO weekdays (1 Monday … 7 Sunday), from and to (local). */
export interface ShiftForm {
  userid: string
  weekdays: number[]
  start: string
  end: string
}

export interface WelcomeForm {
  text: string
  attachments: WelcomeAttachment[]
  points_page_url: string
}

export interface CodeForm {
  name: string
  kind: CodeKind
  shifts: ShiftForm[]
  /** 0: no cap. */
  daily_cap: number
  backup: string[]
  /** Off: the tenant's default welcome is sent. */
  own_welcome: boolean
  welcome: WelcomeForm
  tags: string[]
  remark_template: string
  skip_verify: boolean
  /** A group code's state whose QR is sent with the welcome; '' for none. */
  group_invite: string
}

export interface Problem {
  field: string
  message: string
}

// The limits of core's growth::model and WeCom's (wecom::api::limits).
export const NAME_CHARS = 64
export const MAX_SHIFTS = 200
export const MAX_MEMBERS = 100
export const MAX_DAILY_CAP = 100_000
export const MAX_TAGS = 20
export const REMARK_TEMPLATE_CHARS = 60
export const WELCOME_TEXT_BYTES = 4000
export const MAX_ATTACHMENTS = 9
/** A group invite's QR takes one of the welcome's attachments. */
export const MAX_ATTACHMENTS_WITH_INVITE = MAX_ATTACHMENTS - 1
const GROUP_CODE_STATE = /^gc[0-9a-f]{16}$/
const MATERIAL_ID = /^m[0-9a-z]{1,39}$/
export const URL_BYTES = 1024
export const PLACEHOLDERS = ['{customer_name}', '{staff_name}', '{points_link}'] as const
const CUSTOMER_NAME_BYTES = 32 * 4
const STAFF_NAME_BYTES = 64 * 4
const POINTS_QUERY_BYTES = 80
const USERID = /^[A-Za-z0-9_.@-]{1,64}$/
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/
const END_TIME = /^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/

export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const

export function emptyShift(userid = ''): ShiftForm {
  return { userid, weekdays: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' }
}

export function emptyWelcome(): WelcomeForm {
  return { text: '', attachments: [], points_page_url: '' }
}

export function emptyForm(): CodeForm {
  return {
    name: '',
    kind: 'single',
    shifts: [emptyShift()],
    daily_cap: 0,
    backup: [],
    own_welcome: true,
    welcome: { ...emptyWelcome(), text: '你好 {customer_name}，我是 {staff_name}，很高兴认识你！' },
    tags: [],
    remark_template: '',
    skip_verify: true,
    group_invite: '',
  }
}

export function emptyAttachment(type: AttachmentType): WelcomeAttachment {
  switch (type) {
    case 'image':
      return { type, pic_url: '' }
    case 'link':
      return { type, title: '', url: '', desc: '', picurl: '' }
    case 'miniprogram':
      return { type, title: '', pic_media_id: '', appid: '', page: '' }
    case 'material':
      return { type, material_id: '' }
  }
}

export function welcomeForm(w: Welcome | null | undefined): WelcomeForm {
  return {
    text: w?.text ?? '',
    attachments: (w?.attachments ?? []).map((a) => ({ ...a })),
    points_page_url: w?.points_page_url ?? '',
  }
}

export function fromCode(c: ChannelCode): CodeForm {
  return {
    name: c.name,
    kind: c.kind,
    shifts: c.rota.shifts.map((s) => ({ userid: s.userid, weekdays: [...s.weekdays], start: s.start, end: s.end })),
    daily_cap: c.rota.daily_cap ?? 0,
    backup: [...(c.rota.backup ?? [])],
    own_welcome: !!c.welcome,
    welcome: c.welcome ? welcomeForm(c.welcome) : emptyForm().welcome,
    tags: [...(c.tags ?? [])],
    remark_template: c.remark_template ?? '',
    skip_verify: c.skip_verify ?? true,
    group_invite: c.group_invite ?? '',
  }
}

/**
 * An attachment with its empty optional fields left out (the API refuses empty strings); a
 * link's `track` only when on, and only on a link.
 */
function cleanAttachment(a: WelcomeAttachment): WelcomeAttachment {
  const out: Record<string, unknown> = { type: a.type }
  for (const [k, v] of Object.entries(a)) {
    if (k !== 'type' && typeof v === 'string' && v.trim() !== '') out[k] = v.trim()
  }
  if (a.type === 'link' && a.track === true) out.track = true
  return out as WelcomeAttachment
}

export function toWelcome(w: WelcomeForm): Welcome {
  const out: Welcome = {}
  if (w.text.trim()) out.text = w.text
  if (w.attachments.length) out.attachments = w.attachments.map(cleanAttachment)
  if (w.points_page_url.trim()) out.points_page_url = w.points_page_url.trim()
  return out
}

export function toInput(f: CodeForm): ChannelCodeInput {
  const input: ChannelCodeInput = {
    name: f.name.trim(),
    kind: f.kind,
    rota: {
      shifts: f.shifts.map((s) => ({ userid: s.userid.trim(), weekdays: [...s.weekdays].sort(), start: s.start, end: s.end })),
      ...(f.daily_cap > 0 ? { daily_cap: f.daily_cap } : {}),
      ...(f.backup.length ? { backup: f.backup.map((b) => b.trim()) } : {}),
    },
    tags: [...f.tags],
    skip_verify: f.skip_verify,
  }
  if (f.own_welcome) input.welcome = toWelcome(f.welcome)
  if (f.remark_template.trim()) input.remark_template = f.remark_template.trim()
  if (f.group_invite) input.group_invite = f.group_invite
  return input
}

function bytes(s: string): number {
  return new TextEncoder().encode(s).length
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1
}

function webUrl(u: string): boolean {
  try {
    const url = new URL(u)
    return (url.protocol === 'http:' || url.protocol === 'https:') && !!url.hostname && bytes(u) <= URL_BYTES
  } catch {
    return false
  }
}

/** The most bytes a welcome text can render to, whoever it greets (core: rendered_bound). */
export function renderedBound(text: string, pointsPageUrl: string): number {
  const link = bytes(pointsPageUrl.trim()) + POINTS_QUERY_BYTES
  return (
    bytes(text) +
    count(text, '{customer_name}') * CUSTOMER_NAME_BYTES +
    count(text, '{staff_name}') * STAFF_NAME_BYTES +
    count(text, '{points_link}') * link
  )
}

/** The first `{…}` that is no known placeholder, or null. */
export function unknownPlaceholder(text: string): string | null {
  let rest = text
  for (let open = rest.indexOf('{'); open >= 0; open = rest.indexOf('{')) {
    const after = rest.slice(open)
    const known = PLACEHOLDERS.find((p) => after.startsWith(p))
    if (!known) return after.slice(0, 20)
    rest = after.slice(known.length)
  }
  return null
}

export function welcomeProblems(w: WelcomeForm, field = 'welcome'): Problem[] {
  const out: Problem[] = []
  const p = (f: string, message: string) => out.push({ field: `${field}${f}`, message })
  if (!w.text.trim() && !w.attachments.length) p('', 'growth.problem.welcomeEmpty')
  const bound = renderedBound(w.text, w.points_page_url)
  if (bound > WELCOME_TEXT_BYTES) p('.text', 'growth.problem.welcomeTooLong')
  if (unknownPlaceholder(w.text) !== null) p('.text', 'growth.problem.unknownPlaceholder')
  if (w.text.includes('{points_link}') && !w.points_page_url.trim()) p('.points_page_url', 'growth.problem.pointsUrlNeeded')
  if (w.points_page_url.trim() && !webUrl(w.points_page_url.trim())) p('.points_page_url', 'growth.problem.url')
  if (w.attachments.length > MAX_ATTACHMENTS) p('.attachments', 'growth.problem.tooManyAttachments')
  w.attachments.forEach((a, i) => {
    const f = (name: string) => `.attachments[${i}].${name}`
    const need = (name: keyof WelcomeAttachment, ok: boolean, message: string) => {
      if (!ok) p(f(name), message)
    }
    const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '')
    if (a.type === 'image') need('pic_url', webUrl(str(a.pic_url)), 'growth.problem.url')
    if (a.type === 'link') {
      need('title', !!str(a.title) && bytes(str(a.title)) <= 128, 'growth.problem.linkTitle')
      need('url', webUrl(str(a.url)), 'growth.problem.url')
      need('desc', bytes(str(a.desc)) <= 512, 'growth.problem.linkDesc')
      need('picurl', !str(a.picurl) || webUrl(str(a.picurl)), 'growth.problem.url')
    }
    if (a.type === 'miniprogram') {
      need('title', !!str(a.title) && bytes(str(a.title)) <= 64, 'growth.problem.miniTitle')
      need('pic_media_id', !!str(a.pic_media_id), 'growth.problem.required')
      need('appid', !!str(a.appid), 'growth.problem.required')
      need('page', !!str(a.page), 'growth.problem.required')
    }
    if (a.type === 'material') need('material_id', MATERIAL_ID.test(str(a.material_id)), 'growth.problem.material')
  })
  return out
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number)
  return h * 60 + m
}

/** The distinct members of a rota: those on shifts, then the backups. */
export function members(f: Pick<CodeForm, 'shifts' | 'backup'>): string[] {
  return [...new Set([...f.shifts.map((s) => s.userid.trim()), ...f.backup.map((b) => b.trim())].filter(Boolean))]
}

/** Every problem of the form, as i18n keys of `growth.problem.*` per field. */
export function formProblems(f: CodeForm): Problem[] {
  const out: Problem[] = []
  const p = (field: string, message: string) => out.push({ field, message })
  const name = f.name.trim()
  if (!name || [...name].length > NAME_CHARS) p('name', 'growth.problem.name')
  if (!f.shifts.length) p('rota.shifts', 'growth.problem.noShift')
  if (f.shifts.length > MAX_SHIFTS) p('rota.shifts', 'growth.problem.tooManyShifts')
  f.shifts.forEach((s, i) => {
    const field = (n: string) => `rota.shifts[${i}].${n}`
    if (!USERID.test(s.userid.trim())) p(field('userid'), 'growth.problem.userid')
    if (!s.weekdays.length) p(field('weekdays'), 'growth.problem.weekdays')
    if (!TIME.test(s.start) || !END_TIME.test(s.end)) p(field('start'), 'growth.problem.time')
    else if (minutes(s.end) <= minutes(s.start)) p(field('end'), 'growth.problem.endAfterStart')
  })
  f.backup.forEach((b, i) => {
    if (!USERID.test(b.trim())) p(`rota.backup[${i}]`, 'growth.problem.userid')
  })
  if (members(f).length > MAX_MEMBERS) p('rota', 'growth.problem.tooManyMembers')
  if (f.daily_cap < 0 || f.daily_cap > MAX_DAILY_CAP || !Number.isInteger(f.daily_cap)) p('rota.daily_cap', 'growth.problem.dailyCap')
  if (f.own_welcome) out.push(...welcomeProblems(f.welcome))
  if (f.group_invite && !GROUP_CODE_STATE.test(f.group_invite)) p('group_invite', 'growth.problem.groupInvite')
  if (f.group_invite && f.own_welcome && f.welcome.attachments.length > MAX_ATTACHMENTS_WITH_INVITE) {
    p('welcome.attachments', 'growth.problem.inviteAttachments')
  }
  if (f.tags.length > MAX_TAGS) p('tags', 'growth.problem.tooManyTags')
  if ([...f.remark_template.trim()].length > REMARK_TEMPLATE_CHARS) p('remark_template', 'growth.problem.remark')
  return out
}

/** The ISO weekday (1 Monday … 7 Sunday) and `HH:MM` of `now` in `timeZone`. */
export function localNow(timeZone: string, now: Date = new Date()): { weekday: number; time: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now)
  const get = (type: string) => parts.find((x) => x.type === type)?.value ?? ''
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1
  return { weekday, time: `${get('hour')}:${get('minute')}` }
}

/**
 * The members whose shift covers `weekday` at `time` (the rota's first choice, before daily
 * caps, which only the API knows); a single-member code takes the first of them.
 */
export function onShift(shifts: Pick<ChannelShift, 'userid' | 'weekdays' | 'start' | 'end'>[], weekday: number, time: string): string[] {
  const at = minutes(time)
  const out: string[] = []
  for (const s of shifts) {
    if (!s.weekdays.includes(weekday) || !TIME.test(s.start) || !END_TIME.test(s.end)) continue
    if (minutes(s.start) <= at && at < minutes(s.end) && s.userid.trim() && !out.includes(s.userid.trim())) out.push(s.userid.trim())
  }
  return out
}

/** The members a new add would go to now, as the API's rota chooses before caps. */
export function dutyPreview(f: Pick<CodeForm, 'kind' | 'shifts' | 'backup'>, weekday: number, time: string): string[] {
  let chosen = onShift(f.shifts, weekday, time)
  if (!chosen.length) chosen = f.backup.map((b) => b.trim()).filter(Boolean)
  if (!chosen.length) chosen = members({ shifts: f.shifts, backup: [] })
  return f.kind === 'single' ? chosen.slice(0, 1) : chosen
}

/** The welcome text as a customer would read it, with sample names. */
export function previewText(w: WelcomeForm, sample: { customer: string; staff: string; corpId: string }): string {
  const url = w.points_page_url.trim()
  const link = url ? `${url}${url.includes('?') ? '&' : '?'}corp_id=${encodeURIComponent(sample.corpId)}` : ''
  return w.text
    .split('{customer_name}')
    .join(sample.customer)
    .split('{staff_name}')
    .join(sample.staff)
    .split('{points_link}')
    .join(link)
}
