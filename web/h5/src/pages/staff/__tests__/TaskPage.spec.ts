import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { freshPinia } from '@/test/setup'
import { stubFetch } from '@/test/fetch'
import type { Task } from '@/api/staff'
import { setLocale } from '@/i18n'
import TaskPage from '../TaskPage.vue'

const bridge = vi.hoisted(() => ({
  inChat: false,
  sent: [] as { message: unknown; fallback: string }[],
}))
vi.mock('@/wecom', () => ({
  wecom: () => ({
    canSend: async () => bridge.inChat,
    send: async (message: unknown, fallback: string) => {
      bridge.sent.push({ message, fallback })
      return bridge.inChat ? 'sent' : 'copied'
    },
  }),
}))

/** A task whose plan refers to materials, as the staff API answers it (materials resolved). */
function task(content: Task['content']): Task {
  return {
    task_id: 'T1',
    plan_id: 'p1',
    plan_name: '每日上新',
    occurrence_id: '20260301T0100Z',
    target: { kind: 'group', chat_id: 'wr1' },
    target_name: '会员一群',
    status: 'pending',
    scheduled_at: '2026-03-01T01:00:00Z',
    late: false,
    content,
  }
}

const resolved = task({
  text: '今日上新\n回复 1 领取优惠券',
  attachments: [
    { kind: 'image', pic_url: 'https://wework.example.com/pic/1.png' },
    { kind: 'link', title: '春季新品', url: 'https://l.example.com/l/AbCdEf1234', desc: '全场 8 折' },
    { kind: 'video', media_id: 'MEDIA_V1' },
    { kind: 'file', media_id: '' },
    { kind: 'material', material_id: 'm00gone' },
  ],
})

async function open() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/staff/tasks/:taskId', component: TaskPage }] })
  await router.push('/staff/tasks/T1')
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [router] } })
  await flushPromises()
  await flushPromises()
  return wrapper
}

describe('a task with content-center materials', () => {
  beforeEach(() => {
    freshPinia()
    setLocale('zh-CN')
    bridge.inChat = false
    bridge.sent = []
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('shows each material as its content: text to copy, image to save, link to copy, media with a note', async () => {
    stubFetch(() => [200, resolved])
    const w = await open()
    expect(w.find('[data-testid=task-text]').text()).toBe('今日上新\n回复 1 领取优惠券')
    const img = w.find('[data-testid=block-image] img')
    expect(img.attributes('src')).toBe('https://wework.example.com/pic/1.png')
    expect(w.find('[data-testid=block-image] a[download]').attributes('href')).toBe('https://wework.example.com/pic/1.png')
    expect(w.find('[data-testid=block-link]').text()).toContain('春季新品')
    expect(w.find('[data-testid=block-link]').text()).toContain('https://l.example.com/l/AbCdEf1234')
    // Outside a chat: video and file say where they can be sent, or that they cannot be.
    expect(w.find('[data-testid=block-video] [data-testid=media-note]').text()).toContain('聊天工具栏')
    expect(w.find('[data-testid=block-file] [data-testid=media-note]').text()).toContain('暂时无法发送')
    // A material the API could not resolve says so, with no id shown.
    const gone = w.find('[data-testid=block-material]')
    expect(gone.find('[data-testid=material-unavailable]').text()).toContain('暂时无法显示')
    expect(gone.text()).not.toContain('m00gone')

    await w.find('[data-testid=copy-text]').trigger('click')
    await w.find('[data-testid=block-link] button').trigger('click')
    await flushPromises()
    expect(bridge.sent.map((s) => s.fallback)).toEqual(['今日上新\n回复 1 领取优惠券', 'https://l.example.com/l/AbCdEf1234'])
  })

  it('sends a video material into the chat from the toolbar', async () => {
    bridge.inChat = true
    stubFetch(() => [200, resolved])
    const w = await open()
    await w.find('[data-testid=block-video] [data-testid=send-media]').trigger('click')
    await flushPromises()
    expect(bridge.sent[0].message).toEqual({ msgtype: 'video', video: { mediaid: 'MEDIA_V1' } })
    // A file without media has no button, even in a chat.
    expect(w.find('[data-testid=block-file] [data-testid=send-media]').exists()).toBe(false)
    expect(w.find('[data-testid=block-file] [data-testid=media-note]').exists()).toBe(true)
  })
})
