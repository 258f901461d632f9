// The SOP plan editor's model: one form for the four kinds of plan (group, moments, calendar,
// journey), turned into the API's plan input (only the fields of the plan's kind, empty
// attachment fields left out) and back, plus the templates an operator can start from.
import { normalizeSchedule, type Schedule } from './scheduleModel'

export type PlanKind = 'group' | 'moments' | 'calendar' | 'journey'
export const PLAN_KINDS: PlanKind[] = ['group', 'moments', 'calendar', 'journey']

/** `material`: a material of the content center, by id, chosen through the picker. */
export type AttachmentKind = 'image' | 'link' | 'video' | 'miniprogram' | 'file' | 'material'
/** The kinds whose fields are typed in (a material is chosen instead). */
export const ATTACHMENT_KINDS: Exclude<AttachmentKind, 'material'>[] = ['image', 'link', 'video', 'miniprogram', 'file']
export const MAX_ATTACHMENTS = 9

/** The text fields each kind of attachment carries (the API refuses any other). */
export const ATTACHMENT_FIELDS: Record<AttachmentKind, TextField[]> = {
  image: ['media_id', 'pic_url'],
  link: ['title', 'url', 'desc', 'picurl', 'media_id'],
  video: ['media_id'],
  file: ['media_id'],
  miniprogram: ['title', 'appid', 'page', 'pic_media_id'],
  material: ['material_id'],
}

type TextField = Exclude<keyof Attachment, 'kind' | 'track'>

export interface Attachment {
  kind: AttachmentKind
  material_id?: string
  /** A link sent as a tracked short link (clicks counted per customer). */
  track?: boolean
  media_id?: string
  pic_media_id?: string
  pic_url?: string
  picurl?: string
  url?: string
  title?: string
  desc?: string
  appid?: string
  page?: string
}

export interface Content {
  text?: string
  attachments?: Attachment[]
}

export interface Targets {
  chat_ids?: string[]
  owners?: string[]
  group_tags?: string[]
}

export interface CalendarItem {
  at: string
  title?: string
  content: Content
}

export interface JourneyStep {
  day: number
  time: string
  silent: Content
  replied: Content
}

/** components.schemas.SopPlanInput */
export interface PlanInput {
  name: string
  kind: PlanKind
  targets?: Targets
  schedule?: Schedule
  content?: Content
  senders?: string[]
  audience_tags?: string[]
  items?: CalendarItem[]
  stage?: string
  steps?: JourneyStep[]
}

/** components.schemas.SopPlan */
export interface Plan extends PlanInput {
  plan_id: string
  status: 'active' | 'paused' | 'ended'
  version: number
  next_due?: string | null
  created_at?: string
  updated_at?: string
}

export interface PlanForm {
  name: string
  kind: PlanKind
  targets: Required<Targets>
  schedule: Required<Schedule>
  content: Required<Content>
  senders: string[]
  audienceTags: string[]
  items: { at: string; title: string; content: Required<Content> }[]
  stage: string
  steps: { day: number; time: string; silent: Required<Content>; replied: Required<Content> }[]
}

function contentForm(c: Content | undefined): Required<Content> {
  return { text: c?.text ?? '', attachments: (c?.attachments ?? []).map((a) => ({ ...a })) }
}

export function emptyForm(kind: PlanKind = 'group'): PlanForm {
  return {
    name: '',
    kind,
    targets: { chat_ids: [], owners: [], group_tags: [] },
    schedule: { kind: 'daily', time: '09:00', weekdays: ['mon'], days: [1] },
    content: contentForm(undefined),
    senders: [],
    audienceTags: [],
    items: [],
    stage: '',
    steps: [],
  }
}

/** The form for a stored plan (for editing). */
export function fromPlan(p: PlanInput): PlanForm {
  const f = emptyForm(p.kind)
  f.name = p.name
  f.targets = {
    chat_ids: [...(p.targets?.chat_ids ?? [])],
    owners: [...(p.targets?.owners ?? [])],
    group_tags: [...(p.targets?.group_tags ?? [])],
  }
  if (p.schedule) {
    f.schedule = {
      kind: p.schedule.kind,
      time: p.schedule.time,
      weekdays: [...(p.schedule.weekdays ?? f.schedule.weekdays)],
      days: [...(p.schedule.days ?? f.schedule.days)],
    }
  }
  f.content = contentForm(p.content)
  f.senders = [...(p.senders ?? [])]
  f.audienceTags = [...(p.audience_tags ?? [])]
  f.items = (p.items ?? []).map((i) => ({ at: i.at, title: i.title ?? '', content: contentForm(i.content) }))
  f.stage = p.stage ?? ''
  f.steps = (p.steps ?? []).map((s) => ({
    day: s.day,
    time: s.time,
    silent: contentForm(s.silent),
    replied: contentForm(s.replied),
  }))
  return f
}

/** An attachment with only its kind's fields, blank ones left out, values trimmed; a link's `track` only when on. */
export function cleanAttachment(a: Attachment): Attachment {
  const out: Attachment = { kind: a.kind }
  for (const field of ATTACHMENT_FIELDS[a.kind]) {
    const v = (a[field] as string | undefined)?.trim()
    if (v) (out as unknown as Record<string, string>)[field] = v
  }
  if (a.kind === 'link' && a.track === true) out.track = true
  return out
}

export function cleanContent(c: Required<Content>): Content {
  const out: Content = {}
  if (c.text.trim()) out.text = c.text
  if (c.attachments.length) out.attachments = c.attachments.map(cleanAttachment)
  return out
}

function cleanTargets(t: Required<Targets>): Targets {
  const out: Targets = {}
  if (t.chat_ids.length) out.chat_ids = [...t.chat_ids]
  if (t.owners.length) out.owners = [...t.owners]
  if (t.group_tags.length) out.group_tags = [...t.group_tags]
  return out
}

/** The API's plan input for a form: only the fields of the plan's kind. */
export function toInput(f: PlanForm): PlanInput {
  const base = { name: f.name.trim(), kind: f.kind }
  switch (f.kind) {
    case 'group':
      return { ...base, targets: cleanTargets(f.targets), schedule: normalizeSchedule(f.schedule), content: cleanContent(f.content) }
    case 'moments':
      return {
        ...base,
        senders: [...f.senders],
        audience_tags: [...f.audienceTags],
        schedule: normalizeSchedule(f.schedule),
        content: cleanContent(f.content),
      }
    case 'calendar':
      return {
        ...base,
        targets: cleanTargets(f.targets),
        items: [...f.items]
          .sort((a, b) => a.at.localeCompare(b.at))
          .map((i) => ({ at: i.at, ...(i.title.trim() ? { title: i.title.trim() } : {}), content: cleanContent(i.content) })),
      }
    case 'journey':
      return {
        ...base,
        stage: f.stage.trim(),
        steps: [...f.steps]
          .sort((a, b) => a.day - b.day || a.time.localeCompare(b.time))
          .map((s) => ({ day: s.day, time: s.time, silent: cleanContent(s.silent), replied: cleanContent(s.replied) })),
      }
  }
}

/** i18n keys of what the form lacks before it can be saved (the API checks the rest). */
export function formProblems(f: PlanForm): string[] {
  const out: string[] = []
  if (!f.name.trim()) out.push('sop.editor.problems.name')
  if (f.kind === 'group' || f.kind === 'calendar') {
    const t = f.targets
    if (!t.chat_ids.length && !t.owners.length && !t.group_tags.length) out.push('sop.editor.problems.targets')
  }
  if (f.kind === 'group' || f.kind === 'moments') {
    if (!f.content.text.trim() && !f.content.attachments.length) out.push('sop.editor.problems.content')
  }
  if (f.kind === 'moments' && !f.senders.length) out.push('sop.editor.problems.senders')
  if (f.kind === 'calendar' && !f.items.length) out.push('sop.editor.problems.items')
  if (f.kind === 'journey') {
    if (!f.stage.trim()) out.push('sop.editor.problems.stage')
    if (!f.steps.length) out.push('sop.editor.problems.steps')
  }
  return out
}

/** UTF-8 bytes of a text (WeCom's limits are in bytes). */
export function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length
}

// --- templates ------------------------------------------------------------------------------

export interface TemplateContext {
  /** Translates the template's texts into the console's language. */
  t: (key: string) => string
  /** The merchant's check-in page, carried as a link. */
  checkInUrl: string
}

export interface PlanTemplate {
  id: string
  kind: PlanKind
  titleKey: string
  descriptionKey: string
  /** Whether the template carries the check-in link (the page asks for it). */
  needsCheckInUrl?: boolean
  build: (ctx: TemplateContext) => PlanForm
}

export const TEMPLATES: PlanTemplate[] = [
  {
    id: 'daily-check-in',
    kind: 'group',
    titleKey: 'sop.templates.dailyCheckIn.title',
    descriptionKey: 'sop.templates.dailyCheckIn.description',
    needsCheckInUrl: true,
    build: ({ t, checkInUrl }) => {
      const f = emptyForm('group')
      f.name = t('sop.templates.dailyCheckIn.name')
      f.schedule = { kind: 'daily', time: '09:00', weekdays: ['mon'], days: [1] }
      f.content = {
        text: t('sop.templates.dailyCheckIn.text'),
        attachments: [
          {
            kind: 'link',
            title: t('sop.templates.dailyCheckIn.linkTitle'),
            desc: t('sop.templates.dailyCheckIn.linkDesc'),
            url: checkInUrl,
          },
        ],
      }
      return f
    },
  },
  {
    id: 'weekly-digest',
    kind: 'group',
    titleKey: 'sop.templates.weeklyDigest.title',
    descriptionKey: 'sop.templates.weeklyDigest.description',
    build: ({ t }) => {
      const f = emptyForm('group')
      f.name = t('sop.templates.weeklyDigest.name')
      f.schedule = { kind: 'weekly', time: '15:00', weekdays: ['mon'], days: [1] }
      f.content = { text: t('sop.templates.weeklyDigest.text'), attachments: [] }
      return f
    },
  },
  {
    id: 'monthly-members-day',
    kind: 'group',
    titleKey: 'sop.templates.membersDay.title',
    descriptionKey: 'sop.templates.membersDay.description',
    build: ({ t }) => {
      const f = emptyForm('group')
      f.name = t('sop.templates.membersDay.name')
      f.schedule = { kind: 'monthly', time: '18:00', weekdays: ['mon'], days: [1] }
      f.content = { text: t('sop.templates.membersDay.text'), attachments: [] }
      return f
    },
  },
  {
    id: 'moments-weekly',
    kind: 'moments',
    titleKey: 'sop.templates.momentsWeekly.title',
    descriptionKey: 'sop.templates.momentsWeekly.description',
    build: ({ t }) => {
      const f = emptyForm('moments')
      f.name = t('sop.templates.momentsWeekly.name')
      f.schedule = { kind: 'weekly', time: '12:00', weekdays: ['wed', 'sat'], days: [1] }
      f.content = { text: t('sop.templates.momentsWeekly.text'), attachments: [] }
      return f
    },
  },
  {
    id: 'newcomer-journey',
    kind: 'journey',
    titleKey: 'sop.templates.newcomerJourney.title',
    descriptionKey: 'sop.templates.newcomerJourney.description',
    build: ({ t }) => {
      const f = emptyForm('journey')
      f.name = t('sop.templates.newcomerJourney.name')
      f.stage = 'new'
      f.steps = [
        {
          day: 0,
          time: '10:00',
          silent: { text: t('sop.templates.newcomerJourney.day0'), attachments: [] },
          replied: { text: t('sop.templates.newcomerJourney.day0'), attachments: [] },
        },
        {
          day: 2,
          time: '20:00',
          silent: { text: t('sop.templates.newcomerJourney.day2Silent'), attachments: [] },
          replied: { text: t('sop.templates.newcomerJourney.day2Replied'), attachments: [] },
        },
      ]
      return f
    },
  },
]
