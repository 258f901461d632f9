// The staff API (docs/staff-api.yaml): the staff session token rides every call; a 401 ends
// the staff member's session.
import type { components, paths } from './staff-schema'
import { config } from '@/config'
import { lazyClient, sessionMiddleware, type ApiError } from './http'

let token: () => string | null = () => null
let onUnauthenticated: (e: ApiError) => void = () => {}
export function connectStaffSession(source: () => string | null, ended: (e: ApiError) => void): void {
  token = source
  onUnauthenticated = ended
}

const client = lazyClient<paths>(
  () => config().staffApiBase,
  sessionMiddleware(
    () => token(),
    (e) => onUnauthenticated(e),
    /\/v1\/session$/,
  ),
)

export const staffApi = client.typed
export const staffLoose = client.loose

export type TaskStatus = 'pending' | 'done' | 'failed'

export type Attachment =
  | { kind: 'image'; media_id?: string; pic_url?: string }
  | { kind: 'link'; title: string; url: string; desc?: string; picurl?: string; media_id?: string }
  | { kind: 'video'; media_id: string }
  | { kind: 'miniprogram'; title: string; appid: string; page: string; pic_media_id: string }
  | { kind: 'file'; media_id: string }
  /** A content-center material the API could not resolve (deleted, not uploaded, WeCom failing). */
  | { kind: 'material'; material_id: string }

export interface TaskContent {
  text: string
  attachments: Attachment[]
}

export type TaskTarget =
  | { kind: 'group'; chat_id: string }
  | { kind: 'customer'; external_userid: string }
  | { kind: 'audience' }

export interface Task {
  task_id: string
  plan_id: string
  plan_name: string
  occurrence_id: string
  target: TaskTarget
  target_name?: string | null
  status: TaskStatus
  scheduled_at: string
  late?: boolean
  content?: TaskContent | null
  done_at?: string | null
  done_by?: string | null
  failure?: { code?: string; message?: string } | null
}

export interface TaskPage {
  userid: string
  status: TaskStatus
  tasks: Task[]
  next_cursor: string | null
  token?: string
  expires_at?: string
}

export interface StaffSession {
  token: string
  userid: string
  expires_at: string
}

/** `GET /v1/jssdk/signature?url=`. */
export interface JsSdkSignature {
  corp_id: string
  agent_id: string | number
  config: { timestamp: number | string; nonce_str: string; signature: string }
  agent_config: { timestamp: number | string; nonce_str: string; signature: string }
}

/** `GET /v1/sidebar/customer/{external_userid}`: a customer as the sidebar shows them. */
export type CustomerSidebar = components['schemas']['CustomerSidebar']
/** `GET /v1/sidebar/group/{chat_id}`: a group as the sidebar shows it. */
export type GroupSidebar = components['schemas']['GroupSidebar']
export type SidebarTag = components['schemas']['SidebarTag']
export type TimelineEvent = components['schemas']['TimelineEvent']
/** `PUT /v1/sidebar/customer/{external_userid}/tags`: the caller's tags after the edit. */
export type TagEditResult =
  paths['/v1/sidebar/customer/{external_userid}/tags']['put']['responses'][200]['content']['application/json']
