import type { components } from '@/api/schema'
import type { JobStatus } from '@/components/JobProgress.vue'

export type ResyncJob = components['schemas']['ResyncJob']

/** The phases in the order a re-sync walks them. */
export const PHASES = ['tags', 'staff', 'groups', 'customers', 'singles', 'done'] as const

/** A re-sync job as JobProgress shows it: phases done out of the five to do. */
export function resyncStatus(job: ResyncJob, describe: (job: ResyncJob) => string): JobStatus {
  const phase = job.position?.phase ?? 'tags'
  const index = Math.max(0, PHASES.indexOf(phase as (typeof PHASES)[number]))
  const state = job.status ?? 'pending'
  return {
    state,
    done: state === 'done' ? PHASES.length - 1 : index,
    total: PHASES.length - 1,
    message: state === 'failed' ? (job.last_error ?? describe(job)) : describe(job),
  }
}

export function isFinished(job: ResyncJob): boolean {
  return job.status === 'done' || job.status === 'failed'
}
