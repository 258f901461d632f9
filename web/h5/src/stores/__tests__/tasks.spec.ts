import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import { groupByPlan, useTasks } from '../tasks'
import { useStaffSession } from '../staffSession'
import { connectStaffSession } from '@/api/staff'
import type { Task } from '@/api/staff'

function task(id: string, plan: string, at: string, status: Task['status'] = 'pending'): Task {
  return {
    task_id: id,
    plan_id: plan,
    plan_name: `Plan ${plan}`,
    occurrence_id: 'o',
    target: { kind: 'group', chat_id: 'wr1' },
    status,
    scheduled_at: at,
    content: { text: 'hello', attachments: [] },
  }
}

describe('the task list', () => {
  beforeEach(() => {
    freshPinia()
    localStorage.clear()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('groups tasks by plan, each plan and its tasks in due order', () => {
    const groups = groupByPlan([
      task('3', 'b', '2026-11-30T10:00:00Z'),
      task('1', 'a', '2026-11-30T09:00:00Z'),
      task('2', 'b', '2026-11-30T08:00:00Z'),
    ])
    expect(groups.map((g) => g.planId)).toEqual(['b', 'a'])
    expect(groups[0].tasks.map((t) => t.task_id)).toEqual(['2', '3'])
  })

  it('moves a task marked done from pending to done, with the session token', async () => {
    const session = useStaffSession()
    session.adopt({ token: 'staff-token', userid: 'zhangsan', expires_at: '2999-01-01T00:00:00Z' })
    connectStaffSession(() => session.token, () => {})
    const calls = stubFetch((c) => {
      if (c.method === 'GET' && c.path === '/staff-api/v1/tasks') {
        return [200, { userid: 'zhangsan', status: 'pending', tasks: [task('t1', 'a', '2026-11-30T09:00:00Z')], next_cursor: null }]
      }
      if (c.method === 'POST' && c.path === '/staff-api/v1/tasks/t1/done') {
        return [200, { ...task('t1', 'a', '2026-11-30T09:00:00Z', 'done'), done_at: '2026-11-30T09:05:00Z', done_by: 'staff' }]
      }
      return [404, { error: { code: 'not_found', message: 'no' } }]
    })
    const tasks = useTasks()
    await tasks.load('pending')
    expect(tasks.lists.pending.items).toHaveLength(1)
    tasks.lists.done.loaded = true
    const done = await tasks.markDone('t1')
    expect(done.status).toBe('done')
    expect(tasks.lists.pending.items).toHaveLength(0)
    expect(tasks.lists.done.items.map((t) => t.task_id)).toEqual(['t1'])
    expect(calls.every((c) => c.headers.get('Authorization') === 'Bearer staff-token')).toBe(true)
  })

  it('ends the session when the API answers 401', async () => {
    const session = useStaffSession()
    session.adopt({ token: 'old', userid: 'zhangsan', expires_at: '2999-01-01T00:00:00Z' })
    const ended = vi.fn()
    connectStaffSession(() => session.token, () => {
      session.clear('staff.login.expired')
      ended()
    })
    stubFetch(() => [401, { error: { code: 'unauthenticated', message: 'the session has expired' } }])
    await expect(useTasks().load('pending')).rejects.toMatchObject({ status: 401, message: 'the session has expired' })
    expect(ended).toHaveBeenCalledTimes(1)
    expect(session.loggedIn).toBe(false)
    expect(localStorage.getItem('scrm.h5.staff')).toBeNull()
  })
})
