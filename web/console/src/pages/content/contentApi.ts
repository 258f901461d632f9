// The content center's calls to the admin API (内容中心), typed by the generated client; the
// file itself goes straight to the bucket through the presigned URL, with progress.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type Material = components['schemas']['Material']
export type MaterialInput = components['schemas']['MaterialInput']
export type MaterialEdit = components['schemas']['MaterialEdit']
export type MaterialKind = Material['kind']
export type Folder = components['schemas']['MaterialFolder']

const path = (id: string) => ({ params: { path: { material_id: id } } })

export const contentApi = {
  list: (query: { folder_id?: string; tag?: string; limit?: number; cursor?: string }) =>
    unwrap<{ items: Material[]; next_cursor?: string | null }>(
      api.GET('/v1/content/materials', { params: { query: { limit: 100, ...query } } }),
    ),
  get: (id: string) => unwrap<Material>(api.GET('/v1/content/materials/{material_id}', path(id))),
  /** Replaces a material's fields from the version read; someone else's change first: 409 version_conflict. */
  edit: (id: string, edit: MaterialEdit) =>
    unwrap<Material>(api.PUT('/v1/content/materials/{material_id}', { ...path(id), body: edit })),
  /** Creates a material; a retry with the same key answers the one the first request made. */
  create: (input: MaterialInput, idempotencyKey: string) =>
    unwrap<Material>(
      api.POST('/v1/content/materials', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input }),
    ),
  complete: (id: string) => unwrap<Material>(api.POST('/v1/content/materials/{material_id}/complete', path(id))),
  remove: (id: string) => unwrap<{ deleted: string }>(api.DELETE('/v1/content/materials/{material_id}', path(id))),
  folders: () => unwrap<{ items: Folder[] }>(api.GET('/v1/content/folders')),
  createFolder: (name: string, idempotencyKey: string) =>
    unwrap<Folder>(
      api.POST('/v1/content/folders', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: { name } }),
    ),
}

/** WeCom's limits per kind, as the API checks them (bytes). */
export const FILE_LIMITS: Record<string, { types: string[]; max: number }> = {
  image: { types: ['image/jpeg', 'image/png'], max: 10 * 1024 * 1024 },
  miniprogram: { types: ['image/jpeg', 'image/png'], max: 10 * 1024 * 1024 },
  link: { types: ['image/jpeg', 'image/png'], max: 2 * 1024 * 1024 },
  video: { types: ['video/mp4'], max: 10 * 1024 * 1024 },
  file: {
    types: [
      'application/pdf',
      'application/msword',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'application/vnd.ms-powerpoint',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      'application/zip',
      'text/plain',
    ],
    max: 20 * 1024 * 1024,
  },
}

/** Why a file cannot be a material of `kind` (a message key and its values), or null. */
export function fileProblem(kind: string, file: { type: string; size: number }): { key: string; max?: number } | null {
  const limit = FILE_LIMITS[kind]
  if (!limit) return { key: 'content.upload.noFile' }
  if (!limit.types.includes(file.type)) return { key: 'content.upload.wrongType' }
  if (file.size <= 5 || file.size > limit.max) return { key: 'content.upload.tooLarge', max: Math.floor(limit.max / 1024 / 1024) }
  return null
}

/** PUTs the file to the presigned URL, reporting progress (0-100). */
export function putFile(
  upload: NonNullable<Material['upload']>,
  file: Blob,
  onProgress: (percent: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(upload.method ?? 'PUT', upload.url ?? '')
    for (const [name, value] of Object.entries(upload.headers ?? {})) xhr.setRequestHeader(name, value)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100))
    }
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload failed: HTTP ${xhr.status}`)))
    xhr.onerror = () => reject(new Error('upload failed'))
    xhr.send(file)
  })
}

/** A fresh idempotency key for one create. */
export const newKey = () => `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
