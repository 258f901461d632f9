import { describe, expect, it } from 'vitest'
import {
  dutyPreview,
  emptyForm,
  formProblems,
  fromCode,
  localNow,
  onShift,
  previewText,
  renderedBound,
  toInput,
  unknownPlaceholder,
  welcomeProblems,
  type CodeForm,
} from '../codeModel'
import type { ChannelCode } from '../growthApi'

function form(patch: Partial<CodeForm> = {}): CodeForm {
  return { ...emptyForm(), name: '门店海报', shifts: [{ userid: 'zhangsan', weekdays: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' }], ...patch }
}
const fields = (f: CodeForm) => formProblems(f).map((p) => p.field)

describe('channel code form', () => {
  it('accepts a plain code and turns it into the API input', () => {
    const f = form({ daily_cap: 50, backup: ['lisi'], tags: ['et001'], remark_template: '海报-{customer_name}' })
    expect(formProblems(f)).toEqual([])
    const input = toInput(f)
    expect(input).toMatchObject({
      name: '门店海报',
      kind: 'single',
      rota: { shifts: [{ userid: 'zhangsan', weekdays: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' }], daily_cap: 50, backup: ['lisi'] },
      tags: ['et001'],
      remark_template: '海报-{customer_name}',
      skip_verify: true,
    })
    expect(input.welcome?.text).toContain('{customer_name}')
  })

  it('leaves out what is not set: no cap, no backups, no own welcome, no remark', () => {
    const input = toInput(form({ own_welcome: false }))
    expect(input.rota).not.toHaveProperty('daily_cap')
    expect(input.rota).not.toHaveProperty('backup')
    expect(input).not.toHaveProperty('welcome')
    expect(input).not.toHaveProperty('remark_template')
  })

  it('names each field the API would refuse', () => {
    expect(fields(form({ name: ' ' }))).toContain('name')
    expect(fields(form({ shifts: [] }))).toContain('rota.shifts')
    expect(fields(form({ shifts: [{ userid: 'bad id', weekdays: [], start: '18:00', end: '09:00' }] }))).toEqual(
      expect.arrayContaining(['rota.shifts[0].userid', 'rota.shifts[0].weekdays', 'rota.shifts[0].end']),
    )
    expect(fields(form({ shifts: [{ userid: 'a', weekdays: [1], start: '9:00', end: '18:00' }] }))).toContain('rota.shifts[0].start')
    expect(fields(form({ shifts: [{ userid: 'a', weekdays: [1], start: '20:00', end: '24:00' }] }))).toEqual([])
    expect(fields(form({ daily_cap: 100_001 }))).toContain('rota.daily_cap')
    expect(fields(form({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }))).toContain('tags')
    expect(fields(form({ remark_template: 'x'.repeat(61) }))).toContain('remark_template')
    const many = Array.from({ length: 101 }, (_, i) => ({ userid: `u${i}`, weekdays: [1], start: '09:00', end: '10:00' }))
    expect(fields(form({ shifts: many }))).toContain('rota')
  })

  it('reads a stored code back into the form', () => {
    const code = {
      state: 'ch0123456789abcdef',
      name: 'n',
      kind: 'multi',
      rota: { shifts: [{ userid: 'a', weekdays: [6, 7], start: '10:00', end: '12:00' }], daily_cap: 3 },
      status: 'active',
      on_duty: ['a'],
      version: 2,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    } as ChannelCode
    const f = fromCode(code)
    expect(f).toMatchObject({ name: 'n', kind: 'multi', daily_cap: 3, backup: [], own_welcome: false, skip_verify: true })
    expect(toInput(f).rota).toEqual(code.rota)
  })
})

describe('materials, tracked links and the group invite', () => {
  const link = (title: string, track?: boolean) => ({ type: 'link' as const, title, url: 'https://h5.example.com/' + title, ...(track === undefined ? {} : { track }) })

  it('reads them back from a stored code and sends them as the API takes them', () => {
    const code = {
      state: 'ch0123456789abcdef',
      name: 'n',
      kind: 'single',
      rota: { shifts: [{ userid: 'a', weekdays: [1], start: '09:00', end: '18:00' }] },
      welcome: {
        text: 'hi',
        attachments: [
          { type: 'material', material_id: 'm01hx9k2', track: false },
          link('gift', true),
          link('plain', false),
        ],
      },
      group_invite: 'gc0123456789abcdef',
      invite_pic_url: 'https://wework.qpic.cn/invite.png',
      status: 'active',
      on_duty: ['a'],
      version: 1,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    } as ChannelCode
    const f = fromCode(code)
    expect(f.group_invite).toBe('gc0123456789abcdef')
    expect(formProblems(f)).toEqual([])
    const input = toInput(f)
    expect(input.group_invite).toBe('gc0123456789abcdef')
    // A material by its id only; `track` only on a link, and only when on.
    expect(input.welcome?.attachments).toEqual([
      { type: 'material', material_id: 'm01hx9k2' },
      { type: 'link', title: 'gift', url: 'https://h5.example.com/gift', track: true },
      { type: 'link', title: 'plain', url: 'https://h5.example.com/plain' },
    ])
    expect(input).not.toHaveProperty('invite_pic_url')
  })

  it('leaves the invite out when none is chosen', () => {
    expect(toInput(form())).not.toHaveProperty('group_invite')
    expect(fromCode({ ...toInput(form()), state: 's', status: 'active', on_duty: [], version: 1 } as unknown as ChannelCode).group_invite).toBe('')
  })

  it('needs a chosen material and a group code state', () => {
    const welcome = { text: '', points_page_url: '', attachments: [{ type: 'material' as const, material_id: '' }] }
    expect(welcomeProblems(welcome).map((p) => p.field)).toEqual(['welcome.attachments[0].material_id'])
    welcome.attachments[0].material_id = 'M-1'
    expect(welcomeProblems(welcome).map((p) => p.field)).toEqual(['welcome.attachments[0].material_id'])
    welcome.attachments[0].material_id = 'm01hx9k2'
    expect(welcomeProblems(welcome)).toEqual([])
    expect(fields(form({ group_invite: 'ch0123456789abcdef' }))).toContain('group_invite')
    expect(fields(form({ group_invite: 'gc0123456789ABCDEF' }))).toContain('group_invite')
    expect(fields(form({ group_invite: 'gc0123456789abcdef' }))).toEqual([])
  })

  it('takes nine attachments, or eight with a group invite (its QR is the ninth)', () => {
    const withAttachments = (n: number, group_invite = '') =>
      form({ group_invite, welcome: { text: 'hi', points_page_url: '', attachments: Array.from({ length: n }, (_, i) => link('l' + i)) } })
    expect(fields(withAttachments(9))).toEqual([])
    expect(fields(withAttachments(10))).toContain('welcome.attachments')
    expect(fields(withAttachments(8, 'gc0123456789abcdef'))).toEqual([])
    expect(fields(withAttachments(9, 'gc0123456789abcdef'))).toEqual(['welcome.attachments'])
    // The tenant's default welcome is not the code's: the invite limits only its own.
    expect(fields({ ...withAttachments(9, 'gc0123456789abcdef'), own_welcome: false })).toEqual([])
  })
})

describe('welcome rules', () => {
  const w = (text: string, points_page_url = '') => ({ text, attachments: [], points_page_url })

  it('counts the longest names against WeCom\'s 4000 bytes', () => {
    expect(renderedBound('hi', '')).toBe(2)
    expect(renderedBound('{customer_name}', '')).toBe(15 + 128)
    expect(renderedBound('{staff_name}', '')).toBe(12 + 256)
    expect(renderedBound('{points_link}', 'https://a.cn/p')).toBe(13 + 14 + 80)
    // 3000 bytes of Chinese text: 1000 characters.
    expect(welcomeProblems(w('好'.repeat(1000) + '{staff_name}'.repeat(4))).map((p) => p.field)).toContain('welcome.text')
    expect(welcomeProblems(w('好'.repeat(1000)))).toEqual([])
  })

  it('refuses unknown placeholders and a points link without its page', () => {
    expect(unknownPlaceholder('hi {customer_name} {name}')).toBe('{name}')
    expect(unknownPlaceholder('{customer_name}{staff_name}{points_link}')).toBeNull()
    expect(welcomeProblems(w('{points_link}')).map((p) => p.field)).toContain('welcome.points_page_url')
    expect(welcomeProblems(w('{points_link}', 'ftp://x'))).toHaveLength(1)
    expect(welcomeProblems(w('{points_link}', 'https://h5.example.com/points'))).toEqual([])
  })

  it('needs text or attachments, and attachments shaped by type', () => {
    expect(welcomeProblems(w('  ')).map((p) => p.field)).toEqual(['welcome'])
    const bad = {
      text: '',
      points_page_url: '',
      attachments: [
        { type: 'link' as const, title: '', url: 'nope' },
        { type: 'image' as const, pic_url: 'https://img.example.com/a.png' },
        { type: 'miniprogram' as const, title: 't', appid: '', page: 'p', pic_media_id: 'm' },
      ],
    }
    expect(welcomeProblems(bad).map((p) => p.field)).toEqual([
      'welcome.attachments[0].title',
      'welcome.attachments[0].url',
      'welcome.attachments[2].appid',
    ])
  })

  it('previews the text as a customer reads it', () => {
    const text = previewText(w('你好{customer_name}，我是{staff_name}：{points_link}', 'https://h5.example.com/p?x=1'), {
      customer: '小明',
      staff: 'zhangsan',
      corpId: 'ww1',
    })
    expect(text).toBe('你好小明，我是zhangsan：https://h5.example.com/p?x=1&corp_id=ww1')
  })
})

describe('rota preview', () => {
  const shifts = [
    { userid: 'a', weekdays: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
    { userid: 'b', weekdays: [1], start: '12:00', end: '24:00' },
  ]

  it('finds who is on shift, start inclusive, end exclusive', () => {
    expect(onShift(shifts, 1, '08:59')).toEqual([])
    expect(onShift(shifts, 1, '09:00')).toEqual(['a'])
    expect(onShift(shifts, 1, '12:00')).toEqual(['a', 'b'])
    expect(onShift(shifts, 1, '18:00')).toEqual(['b'])
    expect(onShift(shifts, 1, '23:59')).toEqual(['b'])
    expect(onShift(shifts, 6, '12:00')).toEqual([])
  })

  it('falls back to the backups, then to every member off hours; a single code takes one', () => {
    expect(dutyPreview({ kind: 'multi', shifts, backup: [] }, 1, '12:30')).toEqual(['a', 'b'])
    expect(dutyPreview({ kind: 'single', shifts, backup: [] }, 1, '12:30')).toEqual(['a'])
    expect(dutyPreview({ kind: 'multi', shifts, backup: ['c'] }, 6, '12:30')).toEqual(['c'])
    expect(dutyPreview({ kind: 'multi', shifts, backup: [] }, 6, '12:30')).toEqual(['a', 'b'])
  })

  it('reads the weekday and time in the tenant\'s zone', () => {
    // 2026-03-01 is a Sunday; 16:30 UTC is 00:30 on Monday in Shanghai.
    const at = new Date('2026-03-01T16:30:00Z')
    expect(localNow('Asia/Shanghai', at)).toEqual({ weekday: 1, time: '00:30' })
    expect(localNow('UTC', at)).toEqual({ weekday: 7, time: '16:30' })
  })
})
