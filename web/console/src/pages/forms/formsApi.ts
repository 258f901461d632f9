// The smart forms pages' calls to the admin API (智能表单), typed by the generated client.
import { api, looseApi, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type Form = components['schemas']['Form']
export type FormInput = components['schemas']['FormInput']
export type FormField = components['schemas']['FormField']
export type FormSubmission = components['schemas']['FormSubmission']
export type FormStatus = Form['status']

const path = (formId: string) => ({ params: { path: { form_id: formId } } })

export const formsApi = {
  list: () => unwrap<{ items: Form[] }>(api.GET('/v1/growth/forms')),
  get: (formId: string) => unwrap<Form>(api.GET('/v1/growth/forms/{form_id}', path(formId))),
  /** Creates a draft; a retry with the same key answers the form the first request made. */
  create: (input: FormInput, idempotencyKey: string) =>
    unwrap<Form>(api.POST('/v1/growth/forms', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input })),
  edit: (formId: string, version: number, input: FormInput) =>
    unwrap<Form>(api.PUT('/v1/growth/forms/{form_id}', { ...path(formId), body: { ...input, version } })),
  setStatus: (formId: string, version: number, status: 'published' | 'closed') =>
    unwrap<Form>(api.POST('/v1/growth/forms/{form_id}/status', { ...path(formId), body: { version, status } })),
  remove: (formId: string) => unwrap<{ deleted: string }>(api.DELETE('/v1/growth/forms/{form_id}', path(formId))),
  submissions: (formId: string, cursor?: string | null, limit = 50) =>
    unwrap<{ items: FormSubmission[]; next_cursor: string | null }>(
      api.GET('/v1/growth/forms/{form_id}/submissions', {
        params: { path: { form_id: formId }, query: { limit, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  /** One file of the CSV export (at most 5000 rows) and the cursor of the next, if rows remain. */
  exportPart: async (formId: string, cursor?: string | null) => {
    const { data, response } = await looseApi.GET(`/v1/growth/forms/${formId}/submissions/export`, {
      params: { query: cursor ? { cursor } : {} },
      parseAs: 'text',
    })
    return { text: data as string, next: response.headers.get('x-next-cursor') }
  },
}

/**
 * Every submission as one CSV text: the files of the export joined, each after the first
 * without its BOM and header row.
 */
export async function exportAll(formId: string, maxFiles = 20): Promise<string> {
  let out = ''
  let cursor: string | null = null
  for (let i = 0; i < maxFiles; i++) {
    const part: { text: string; next: string | null } = await formsApi.exportPart(formId, cursor)
    out += i === 0 ? part.text : dropHeader(part.text)
    cursor = part.next
    if (!cursor) break
  }
  return out
}

/** The CSV without its BOM and first row (rows end with CRLF; cells may hold line breaks). */
export function dropHeader(csv: string): string {
  const text = csv.replace(/^\uFEFF/, '')
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (!quoted && c === '\n') return text.slice(i + 1)
  }
  return ''
}
