// The growth pages' calls to the admin API: channel codes, their figures and the tenant's
// default welcome, typed by the generated client.
import { api, looseApi, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

type SchemaAttachment = components['schemas']['WelcomeAttachment']
/**
 * An attachment of a welcome: besides the spec's fields, `material` (a material of the
 * content center, by `material_id`) and a link's `track` (sent as a tracked short link per
 * customer).
 */
export type WelcomeAttachment = Omit<SchemaAttachment, 'type' | 'material_id' | 'track'> & {
  type: SchemaAttachment['type'] | 'material'
  material_id?: string
  track?: boolean
}
export type Welcome = Omit<components['schemas']['Welcome'], 'attachments'> & { attachments?: WelcomeAttachment[] }
/** `group_invite`: a group code (its state) whose QR picture is sent with the welcome. */
export type ChannelCodeInput = Omit<components['schemas']['ChannelCodeInput'], 'welcome' | 'group_invite'> & {
  welcome?: Welcome
  group_invite?: string
}
export type ChannelCode = Omit<components['schemas']['ChannelCode'], 'welcome' | 'group_invite'> & {
  welcome?: Welcome
  group_invite?: string
}
export type ChannelShift = components['schemas']['ChannelShift']
export type ChannelCodeFigures = components['schemas']['ChannelCodeFigures']

/** A corp tag as the tag mirror lists it (WeCom's shape). */
export interface CorpTag {
  id: string
  name: string
  deleted?: boolean
}
export interface CorpTagGroup {
  group_id: string
  group_name: string
  deleted?: boolean
  tag?: CorpTag[]
}

const path = (state: string) => ({ params: { path: { state } } })

export const growthApi = {
  codes: () => unwrap<{ items: ChannelCode[] }>(api.GET('/v1/growth/channel-codes')),
  code: (state: string) => unwrap<ChannelCode>(api.GET('/v1/growth/channel-codes/{state}', path(state))),
  /** Creates a code; a retry with the same key finishes the first create instead of a second. */
  create: (input: ChannelCodeInput, idempotencyKey: string) =>
    unwrap<ChannelCode>(
      api.POST('/v1/growth/channel-codes', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input as never }),
    ),
  edit: (state: string, version: number, input: ChannelCodeInput) =>
    unwrap<ChannelCode>(api.PUT('/v1/growth/channel-codes/{state}', { ...path(state), body: { ...input, version } as never })),
  pause: (state: string) => unwrap<ChannelCode>(api.POST('/v1/growth/channel-codes/{state}/pause', path(state))),
  resume: (state: string) => unwrap<ChannelCode>(api.POST('/v1/growth/channel-codes/{state}/resume', path(state))),
  remove: (state: string) => unwrap<{ deleted: string }>(api.DELETE('/v1/growth/channel-codes/{state}', path(state))),
  figures: (state: string, from: string, to: string) =>
    unwrap<ChannelCodeFigures>(
      api.GET('/v1/growth/channel-codes/{state}/figures', { params: { path: { state }, query: { from, to } } }),
    ),
  defaultWelcome: () => unwrap<{ welcome: Welcome | null }>(api.GET('/v1/growth/default-welcome')),
  setDefaultWelcome: (welcome: Welcome | null) =>
    unwrap<{ welcome: Welcome | null }>(api.PUT('/v1/growth/default-welcome', { body: { welcome } as never })),
  /** The corp tag mirror (its body is described in prose by the spec). */
  tags: () => unwrap<{ tag_groups: CorpTagGroup[] }>(looseApi.GET('/v1/tags')),
}

// --- group codes (群活码) ---------------------------------------------------------------------

/** Optional fields are the ones the API defaults. */
export type GroupCodeInput = Omit<components['schemas']['GroupCodeInput'], 'full_at' | 'auto_create_room' | 'room_base_id'> &
  Partial<Pick<components['schemas']['GroupCodeInput'], 'full_at' | 'auto_create_room' | 'room_base_id'>>
export type GroupCode = components['schemas']['GroupCode']
export type GroupCodeFigures = components['schemas']['GroupCodeFigures']

export const groupCodesApi = {
  list: () => unwrap<{ items: GroupCode[] }>(api.GET('/v1/growth/group-codes')),
  get: (state: string) => unwrap<GroupCode>(api.GET('/v1/growth/group-codes/{state}', path(state))),
  /** Creates a code; a retry with the same key answers the code the first request made. */
  create: (input: GroupCodeInput, idempotencyKey: string) =>
    unwrap<GroupCode>(
      api.POST('/v1/growth/group-codes', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: input as never }),
    ),
  edit: (state: string, version: number, input: GroupCodeInput) =>
    unwrap<GroupCode>(api.PUT('/v1/growth/group-codes/{state}', { ...path(state), body: { ...input, version } as never })),
  remove: (state: string) => unwrap<{ deleted: string }>(api.DELETE('/v1/growth/group-codes/{state}', path(state))),
  figures: (state: string, from: string, to: string) =>
    unwrap<GroupCodeFigures>(
      api.GET('/v1/growth/group-codes/{state}/figures', { params: { path: { state }, query: { from, to } } }),
    ),
}
