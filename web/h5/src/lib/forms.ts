// A smart form (智能表单) as a customer fills it: the customer API's calls, and the answers
// checked as the API checks them, so the page marks a wrong field before sending (the API
// checks again; its problems are shown the same way).
import type { components } from '@/api/customer-schema'
import { customerApi, customerLoose } from '@/api/customer'
import { configReady } from '@/config'

export type CustomerForm = components['schemas']['CustomerForm']
export type FormField = CustomerForm['fields'][number]
export type FormSubmission = components['schemas']['FormSubmission']
export type Submitted = components['schemas']['FormSubmitted']
/** One answer as the page edits it: text, the chosen option values, or a number (null: none). */
export type Answer = string | string[] | number | null
export type Answers = Record<string, Answer>
export interface Problem {
  field: string
  code: string
  message?: string
}

export async function loadForm(formId: string): Promise<{ form: CustomerForm; submission: FormSubmission | null }> {
  await configReady()
  const { data } = await customerApi.GET('/v1/forms/{form_id}', { params: { path: { form_id: formId } } })
  return data as { form: CustomerForm; submission: FormSubmission | null }
}

export async function submitForm(formId: string, answers: Answers, key: string): Promise<Submitted> {
  await configReady()
  return customerLoose.POST<Submitted>('/v1/forms/{form_id}/submissions', {
    params: { path: { form_id: formId } },
    headers: { 'Idempotency-Key': key },
    body: { answers: sendable(answers) },
  })
}

/** A fresh Idempotency-Key for one submit attempt (visible ASCII, ≤ 128). */
export function newSubmitKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return `form-${crypto.randomUUID()}`
  return `form-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/** The page's starting answers: the customer's last submission, else empty. */
export function initialAnswers(form: CustomerForm, submission: FormSubmission | null): Answers {
  const previous = (submission?.answers ?? {}) as Record<string, Answer>
  const out: Answers = {}
  for (const f of form.fields) {
    const v = previous[f.id]
    if (f.kind === 'multiple_choice') out[f.id] = Array.isArray(v) ? v : []
    else if (f.kind === 'number') out[f.id] = typeof v === 'number' ? v : null
    else out[f.id] = typeof v === 'string' ? v : ''
  }
  return out
}

const blank = (v: Answer) => v == null || (typeof v === 'string' && !v.trim()) || (Array.isArray(v) && !v.length)

/** What the API is sent: blank answers left out, text trimmed. */
export function sendable(answers: Answers): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = {}
  for (const [k, v] of Object.entries(answers)) {
    if (blank(v)) continue
    out[k] = typeof v === 'string' ? v.trim() : (v as string[] | number)
  }
  return out
}

const TEXT_CAP: Record<string, number> = { short_text: 200, long_text: 2000 }
export const isMobile = (s: string) => /^1[3-9][0-9]{9}$/.test(s)
export const isEmail = (s: string) => s.length <= 254 && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(s)

/** The problem of one field's answer (its stable code, as the API names it), or null. */
export function answerProblem(f: FormField, v: Answer): Problem | null {
  const p = (code: string): Problem => ({ field: f.id, code })
  if (blank(v)) return f.required ? p('required') : null
  switch (f.kind) {
    case 'short_text':
    case 'long_text': {
      const s = String(v).trim()
      if ([...s].length > (f.max_length ?? TEXT_CAP[f.kind])) return p('too_long')
      if (f.kind === 'short_text' && s.includes('\n')) return p('invalid')
      return null
    }
    case 'single_choice':
      return f.options?.some((o) => o.value === v) ? null : p('not_an_option')
    case 'multiple_choice': {
      const n = (v as string[]).length
      if (f.min != null && n < f.min) return p('too_few')
      if (f.max != null && n > f.max) return p('too_many')
      return null
    }
    case 'number': {
      const n = Number(v)
      if (!Number.isFinite(n)) return p('not_a_number')
      if (f.min != null && n < f.min) return p('below_min')
      if (f.max != null && n > f.max) return p('above_max')
      return null
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(String(v)) ? null : p('not_a_date')
    case 'mobile':
      return isMobile(String(v).trim()) ? null : p('not_a_mobile')
    case 'email':
      return isEmail(String(v).trim()) ? null : p('not_an_email')
  }
  return null
}

/** Every field's problem, in the form's order. */
export function answerProblems(form: CustomerForm, answers: Answers): Problem[] {
  return form.fields.map((f) => answerProblem(f, answers[f.id] ?? null)).filter((x): x is Problem => !!x)
}
