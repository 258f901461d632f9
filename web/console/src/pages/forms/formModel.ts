// The form editor's model: what the page edits (every input a plain value), its problems
// checked as the API checks them (so a save sends nothing the API would refuse), and the
// API's body made from it.
import type { Form, FormField, FormInput } from './formsApi'

export type FieldKind = FormField['kind']
export type ProfileField = NonNullable<FormField['profile_field']>

export const FIELD_KINDS: FieldKind[] = [
  'short_text',
  'long_text',
  'single_choice',
  'multiple_choice',
  'number',
  'date',
  'mobile',
  'email',
]
export const MAX_FIELDS = 30
export const MAX_OPTIONS = 20
export const REMARK_CHARS = 60
export const TEXT_CAP: Record<string, number> = { short_text: 200, long_text: 2000 }

export interface EditorOption {
  value: string
  label: string
  tag_id: string
}
export interface EditorField {
  id: string
  label: string
  kind: FieldKind
  required: boolean
  help: string
  min: number | null
  max: number | null
  max_length: number | null
  options: EditorOption[]
  profile_field: ProfileField | ''
}
export interface EditorForm {
  title: string
  description: string
  remark_template: string
  fields: EditorField[]
}
export interface Problem {
  field: string
  message: string
  params?: Record<string, unknown>
}

export const isChoice = (k: FieldKind) => k === 'single_choice' || k === 'multiple_choice'
export const isText = (k: FieldKind) => k === 'short_text' || k === 'long_text'

/** The profile fields a field of `kind` may fill (the API's rule). */
export function profileFieldsFor(kind: FieldKind): ProfileField[] {
  if (kind === 'mobile') return ['mobile']
  if (kind === 'short_text') return ['name', 'wechat_id', 'address']
  if (kind === 'long_text') return ['address']
  return []
}

/** A fresh id not used yet: `f1`, `f2`, … (ids key the answers and the remark template). */
export function nextId(prefix: string, used: string[]): string {
  for (let n = 1; ; n++) if (!used.includes(`${prefix}${n}`)) return `${prefix}${n}`
}

export function emptyOption(used: string[]): EditorOption {
  return { value: nextId('o', used), label: '', tag_id: '' }
}

export function emptyField(kind: FieldKind, used: string[]): EditorField {
  const field: EditorField = {
    id: nextId('f', used),
    label: '',
    kind,
    required: false,
    help: '',
    min: null,
    max: null,
    max_length: null,
    options: [],
    profile_field: '',
  }
  if (isChoice(kind)) field.options = [emptyOption([]), emptyOption(['o1'])]
  return field
}

export function emptyForm(): EditorForm {
  return { title: '', description: '', remark_template: '', fields: [emptyField('short_text', [])] }
}

/** The editor's copy of a stored form. */
export function fromForm(f: Form): EditorForm {
  return {
    title: f.title,
    description: f.description ?? '',
    remark_template: f.remark_template ?? '',
    fields: f.fields.map((x) => ({
      id: x.id,
      label: x.label,
      kind: x.kind,
      required: x.required ?? false,
      help: x.help ?? '',
      min: x.min ?? null,
      max: x.max ?? null,
      max_length: x.max_length ?? null,
      options: (x.options ?? []).map((o) => ({ value: o.value, label: o.label, tag_id: o.tag_id ?? '' })),
      profile_field: x.profile_field ?? '',
    })),
  }
}

const KEY = /^[a-z][a-z0-9_]{0,31}$/

/** The `{name}` placeholders of a template. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1])
}

/** Every problem, keyed like the API's (`fields[2].options`), messages as i18n keys. */
export function formProblems(f: EditorForm): Problem[] {
  const out: Problem[] = []
  const title = f.title.trim()
  if (!title || title.length > 100) out.push({ field: 'title', message: 'forms.problems.title' })
  if (f.description.length > 1000) out.push({ field: 'description', message: 'forms.problems.tooLong', params: { n: 1000 } })
  if (!f.fields.length || f.fields.length > MAX_FIELDS) out.push({ field: 'fields', message: 'forms.problems.fields', params: { n: MAX_FIELDS } })
  const ids = new Set<string>()
  const profiles = new Set<string>()
  f.fields.forEach((x, i) => {
    const at = (what: string) => `fields[${i}].${what}`
    if (!KEY.test(x.id)) out.push({ field: at('id'), message: 'forms.problems.id' })
    else if (ids.has(x.id)) out.push({ field: at('id'), message: 'forms.problems.duplicateId' })
    ids.add(x.id)
    if (!x.label.trim() || x.label.trim().length > 100) out.push({ field: at('label'), message: 'forms.problems.label' })
    if (x.help.length > 1000) out.push({ field: at('help'), message: 'forms.problems.tooLong', params: { n: 1000 } })
    if (x.kind === 'number' || x.kind === 'multiple_choice') {
      if (x.min != null && x.max != null && x.min > x.max) out.push({ field: at('max'), message: 'forms.problems.range' })
      if (x.kind === 'multiple_choice') {
        for (const [name, v] of [['min', x.min], ['max', x.max]] as const) {
          if (v != null && (!Number.isInteger(v) || v < 0)) out.push({ field: at(name), message: 'forms.problems.count' })
        }
        if (x.min != null && x.min > x.options.length) out.push({ field: at('min'), message: 'forms.problems.moreThanOptions' })
      }
    }
    if (isText(x.kind) && x.max_length != null && (x.max_length < 1 || x.max_length > TEXT_CAP[x.kind])) {
      out.push({ field: at('max_length'), message: 'forms.problems.maxLength', params: { n: TEXT_CAP[x.kind] } })
    }
    if (isChoice(x.kind)) {
      if (!x.options.length || x.options.length > MAX_OPTIONS) out.push({ field: at('options'), message: 'forms.problems.options', params: { n: MAX_OPTIONS } })
      const values = new Set<string>()
      x.options.forEach((o, j) => {
        if (!KEY.test(o.value) || values.has(o.value)) out.push({ field: at(`options[${j}].value`), message: 'forms.problems.optionValue' })
        values.add(o.value)
        if (!o.label.trim() || o.label.trim().length > 100) out.push({ field: at(`options[${j}].label`), message: 'forms.problems.label' })
        if (o.tag_id && !/^[A-Za-z0-9_-]{1,64}$/.test(o.tag_id)) out.push({ field: at(`options[${j}].tag_id`), message: 'forms.problems.tag' })
      })
    }
    if (x.profile_field) {
      if (!profileFieldsFor(x.kind).includes(x.profile_field)) out.push({ field: at('profile_field'), message: 'forms.problems.profileKind' })
      else if (profiles.has(x.profile_field)) out.push({ field: at('profile_field'), message: 'forms.problems.profileTwice' })
      profiles.add(x.profile_field)
    }
  })
  const remark = f.remark_template.trim()
  if (remark) {
    if (remark.length > REMARK_CHARS) out.push({ field: 'remark_template', message: 'forms.problems.tooLong', params: { n: REMARK_CHARS } })
    const unknown = placeholders(remark).filter((p) => !ids.has(p))
    if (unknown.length) out.push({ field: 'remark_template', message: 'forms.problems.placeholder', params: { names: unknown.join(', ') } })
  }
  return out
}

/** The API's body: only what applies to each field's kind. */
export function toInput(f: EditorForm): FormInput {
  const input: FormInput = {
    title: f.title.trim(),
    fields: f.fields.map((x) => {
      const field: FormField = { id: x.id, label: x.label.trim(), kind: x.kind, required: x.required }
      if (x.help.trim()) field.help = x.help.trim()
      if ((x.kind === 'number' || x.kind === 'multiple_choice') && x.min != null) field.min = x.min
      if ((x.kind === 'number' || x.kind === 'multiple_choice') && x.max != null) field.max = x.max
      if (isText(x.kind) && x.max_length != null) field.max_length = x.max_length
      if (isChoice(x.kind)) {
        field.options = x.options.map((o) => ({ value: o.value, label: o.label.trim(), ...(o.tag_id ? { tag_id: o.tag_id } : {}) }))
      }
      if (x.profile_field && profileFieldsFor(x.kind).includes(x.profile_field)) field.profile_field = x.profile_field
      return field
    }),
  }
  if (f.description.trim()) input.description = f.description.trim()
  if (f.remark_template.trim()) input.remark_template = f.remark_template.trim()
  return input
}

/** An answer as a person reads it (choices by their labels). */
export function answerText(field: FormField, answer: unknown): string {
  if (answer == null) return ''
  const label = (v: unknown) => field.options?.find((o) => o.value === v)?.label ?? String(v)
  if (Array.isArray(answer)) return answer.map(label).join('、')
  if (field.kind === 'single_choice') return label(answer)
  return String(answer)
}
