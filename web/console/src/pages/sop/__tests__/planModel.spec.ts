import { describe, expect, it } from 'vitest'
import { TEMPLATES, emptyForm, formProblems, fromPlan, toInput, type PlanInput } from '../planModel'

describe('plan form ↔ API plan input', () => {
  it('sends only the fields of a group plan, attachments with their kind’s non-blank fields', () => {
    const f = emptyForm('group')
    f.name = '  Morning  '
    f.targets.chat_ids = ['wrA']
    f.senders = ['ignored']
    f.content = {
      text: 'Hi',
      attachments: [{ kind: 'link', url: 'https://x.example/c', title: 'T', desc: '', appid: 'nope' }],
    }
    expect(toInput(f)).toEqual({
      name: 'Morning',
      kind: 'group',
      targets: { chat_ids: ['wrA'] },
      schedule: { kind: 'daily', time: '09:00' },
      content: { text: 'Hi', attachments: [{ kind: 'link', url: 'https://x.example/c', title: 'T' }] },
    })
  })

  it('round-trips each kind of plan', () => {
    const plans: PlanInput[] = [
      {
        name: 'M',
        kind: 'moments',
        senders: ['zhangsan'],
        audience_tags: ['vip'],
        schedule: { kind: 'weekly', time: '12:00', weekdays: ['wed', 'sat'] },
        content: { text: 'post', attachments: [{ kind: 'image', pic_url: 'https://x.example/a.png' }] },
      },
      {
        name: 'C',
        kind: 'calendar',
        targets: { group_tags: ['vip'] },
        items: [
          { at: '2026-12-01T10:00', title: 'Sale', content: { text: 'a' } },
          { at: '2026-12-08T10:00', content: { text: 'b' } },
        ],
      },
      {
        name: 'J',
        kind: 'journey',
        stage: 'new',
        steps: [{ day: 0, time: '10:00', silent: { text: 's' }, replied: { text: 'r' } }],
      },
    ]
    for (const p of plans) expect(toInput(fromPlan(p))).toEqual(p)
  })

  it('sends a material by its id and a link\'s track only when on', () => {
    const f = emptyForm('group')
    f.name = 'P'
    f.targets.chat_ids = ['wrA']
    f.content = {
      text: '',
      attachments: [
        { kind: 'material', material_id: ' m01hx9k2 ', title: 'left out' },
        { kind: 'link', url: 'https://x.example/a', title: 'A', track: true },
        { kind: 'link', url: 'https://x.example/b', title: 'B', track: false },
        // A link turned into an image keeps no track.
        { kind: 'image', pic_url: 'https://x.example/c.png', track: true },
      ],
    }
    expect(toInput(f).content).toEqual({
      attachments: [
        { kind: 'material', material_id: 'm01hx9k2' },
        { kind: 'link', url: 'https://x.example/a', title: 'A', track: true },
        { kind: 'link', url: 'https://x.example/b', title: 'B' },
        { kind: 'image', pic_url: 'https://x.example/c.png' },
      ],
    })
    const stored: PlanInput = {
      name: 'P',
      kind: 'group',
      targets: { chat_ids: ['wrA'] },
      schedule: { kind: 'daily', time: '09:00' },
      content: { attachments: [{ kind: 'material', material_id: 'm01hx9k2' }, { kind: 'link', url: 'https://x.example/a', title: 'A', track: true }] },
    }
    const back = fromPlan(stored)
    expect(back.content.attachments[1].track).toBe(true)
    expect(toInput(back)).toEqual(stored)
  })

  it('names what a form lacks', () => {
    expect(formProblems(emptyForm('group'))).toEqual([
      'sop.editor.problems.name',
      'sop.editor.problems.targets',
      'sop.editor.problems.content',
    ])
    expect(formProblems(emptyForm('journey'))).toEqual([
      'sop.editor.problems.name',
      'sop.editor.problems.stage',
      'sop.editor.problems.steps',
    ])
  })

  it('offers a daily check-in reminder to groups carrying the check-in link', () => {
    const tpl = TEMPLATES.find((x) => x.id === 'daily-check-in')!
    const f = tpl.build({ t: (k) => k, checkInUrl: 'https://h5.example/check-in' })
    expect(f.kind).toBe('group')
    expect(f.schedule.kind).toBe('daily')
    expect(f.content.attachments[0]).toMatchObject({ kind: 'link', url: 'https://h5.example/check-in' })
  })
})
