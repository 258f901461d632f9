// The staff member's tasks: pending and done lists (paged by the API's cursor), one task, and
// marking one done, which moves it from one list to the other without reloading.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { staffLoose, type Task, type TaskPage, type TaskStatus } from '@/api/staff'

interface TaskList {
  items: Task[]
  cursor: string | null
  loaded: boolean
}

const emptyList = (): TaskList => ({ items: [], cursor: null, loaded: false })

/** Tasks grouped by plan, each group in due-time order (the API answers newest first). */
export function groupByPlan(tasks: Task[]): { planId: string; planName: string; tasks: Task[] }[] {
  const groups = new Map<string, { planId: string; planName: string; tasks: Task[] }>()
  for (const task of tasks) {
    const group = groups.get(task.plan_id) ?? { planId: task.plan_id, planName: task.plan_name, tasks: [] }
    group.tasks.push(task)
    groups.set(task.plan_id, group)
  }
  const out = [...groups.values()]
  for (const g of out) g.tasks.sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at))
  out.sort((a, b) => a.tasks[0].scheduled_at.localeCompare(b.tasks[0].scheduled_at))
  return out
}

export const useTasks = defineStore('tasks', () => {
  const lists = ref<Record<TaskStatus, TaskList>>({ pending: emptyList(), done: emptyList(), failed: emptyList() })
  const current = ref<Task | null>(null)

  async function load(status: TaskStatus, more = false): Promise<void> {
    const list = lists.value[status]
    const page = await staffLoose.GET<TaskPage>('/v1/tasks', {
      params: { query: { status, limit: 50, ...(more && list.cursor ? { cursor: list.cursor } : {}) } },
    })
    list.items = more ? [...list.items, ...page.tasks] : page.tasks
    list.cursor = page.next_cursor ?? null
    list.loaded = true
  }

  async function open(taskId: string): Promise<Task> {
    const known = [...lists.value.pending.items, ...lists.value.done.items].find((t) => t.task_id === taskId)
    if (known) current.value = known
    const fresh = await staffLoose.GET<Task>('/v1/tasks/{task_id}', { params: { path: { task_id: taskId } } })
    current.value = fresh
    return fresh
  }

  /** Marks a task done (idempotent on the API); the lists follow. */
  async function markDone(taskId: string): Promise<Task> {
    const done = await staffLoose.POST<Task>('/v1/tasks/{task_id}/done', { params: { path: { task_id: taskId } } })
    const pending = lists.value.pending
    pending.items = pending.items.filter((t) => t.task_id !== taskId)
    const doneList = lists.value.done
    if (doneList.loaded) doneList.items = [done, ...doneList.items.filter((t) => t.task_id !== taskId)]
    if (current.value?.task_id === taskId) current.value = done
    return done
  }

  return { lists, current, load, open, markDone }
})
