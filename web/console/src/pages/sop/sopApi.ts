// The SOP pages' calls to the admin API, with the shapes of the answers the spec describes in
// prose. Typed by the generated client where the spec types the request.
import { api, looseApi as loose, unwrap } from '@/api/client'
import type { Plan, PlanInput } from './planModel'
import type { CalendarEntry, GroupMessageQuota, Schedule, UpcomingAt } from './scheduleModel'

export interface Figures {
  owners_not_executed: number
  owners_executed: number
  failed_tasks: number
  failed_by_reason: Record<string, number>
  groups_not_sent: number
  groups_sent: number
  groups_failed: number
  tasks_total?: number
  tasks_pending?: number
  tasks_done?: number
  per_owner?: { userid: string; pending: number; done: number; failed: number; executed: boolean }[]
  per_group?: {
    chat_id: string
    name?: string | null
    owners?: string[]
    pending: number
    sent: number
    failed: number
    failure?: string
    failure_message?: string
  }[]
}

export interface Occurrence {
  plan_id: string
  occurrence_id: string
  kind: string
  plan_name: string
  plan_version: number
  scheduled_at: string
  dispatched_at: string
  late: boolean
  title?: string | null
}

export interface WecomCall {
  kind: 'reminder' | 'group_message' | 'moment_task' | string
  staff?: string
  state: 'pending' | 'sent' | 'failed' | string
  attempts?: number
  last_errcode?: number | null
  last_error?: string | null
  wecom_id?: string | null
  next_attempt_at?: string | null
}

export interface TenantInfo {
  corp_id?: string
  name?: string
  settings?: { timezone?: string; group_message_quota?: GroupMessageQuota }
}

export const sopApi = {
  tenant: () => unwrap<TenantInfo>(api.GET('/v1/tenant')),
  plans: (cursor?: string | null, limit = 50) =>
    unwrap<{ plans: Plan[]; next_cursor?: string | null }>(
      api.GET('/v1/sop/plans', { params: { query: { limit, ...(cursor ? { cursor } : {}) } } }),
    ),
  plan: (planId: string) =>
    unwrap<Plan>(api.GET('/v1/sop/plans/{plan_id}', { params: { path: { plan_id: planId } } })),
  create: (input: PlanInput) => unwrap<Plan>(api.POST('/v1/sop/plans', { body: input as never })),
  edit: (planId: string, input: PlanInput, version: number) =>
    unwrap<Plan>(
      api.PUT('/v1/sop/plans/{plan_id}', {
        params: { path: { plan_id: planId } },
        body: { ...input, version } as never,
      }),
    ),
  pause: (planId: string) =>
    unwrap<Plan>(api.POST('/v1/sop/plans/{plan_id}/pause', { params: { path: { plan_id: planId } } })),
  resume: (planId: string) =>
    unwrap<Plan>(api.POST('/v1/sop/plans/{plan_id}/resume', { params: { path: { plan_id: planId } } })),
  end: (planId: string) =>
    unwrap<Plan>(api.POST('/v1/sop/plans/{plan_id}/end', { params: { path: { plan_id: planId } } })),
  occurrences: (planId: string, cursor?: string | null) =>
    unwrap<{ occurrences: Occurrence[]; next_cursor?: string | null }>(
      api.GET('/v1/sop/plans/{plan_id}/occurrences', {
        params: { path: { plan_id: planId }, query: { limit: 30, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  occurrence: (planId: string, occurrenceId: string) =>
    unwrap<{ occurrence: Occurrence; wecom_calls: WecomCall[] }>(
      api.GET('/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}', {
        params: { path: { plan_id: planId, occurrence_id: occurrenceId } },
      }),
    ),
  planFigures: (planId: string, cursor?: string | null) =>
    unwrap<{
      plan_id: string
      figures: Figures
      dispatch_failure: { message: string; at: string; failures: number } | null
      occurrences: { occurrence_id: string; scheduled_at: string; late: boolean; figures: Figures }[]
      next_cursor?: string | null
    }>(
      api.GET('/v1/sop/plans/{plan_id}/figures', {
        params: { path: { plan_id: planId }, query: { limit: 30, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  occurrenceFigures: (planId: string, occurrenceId: string) =>
    unwrap<{ plan_id: string; occurrence_id: string; scheduled_at: string; late: boolean; figures: Figures }>(
      api.GET('/v1/sop/plans/{plan_id}/occurrences/{occurrence_id}/figures', {
        params: { path: { plan_id: planId, occurrence_id: occurrenceId } },
      }),
    ),
  schedulePreview: (schedule: Schedule, count = 5) =>
    unwrap<{ occurrences?: UpcomingAt[]; timezone?: string }>(
      loose.POST('/v1/sop/schedule-preview', { body: { schedule, count } }),
    ),
  calendar: (from: string, to: string) =>
    unwrap<{ from: string; to: string; timezone: string; entries: CalendarEntry[]; truncated: boolean }>(
      loose.GET('/v1/sop/calendar', { params: { query: { from, to } } }),
    ),
}
