import { describe, expect, it } from 'vitest'
import { answerProblems, initialAnswers, sendable, type CustomerForm } from '../forms'

const form: CustomerForm = {
  form_id: 'fm0123456789abcdef',
  title: '到店调查',
  status: 'published',
  created_at: '2026-03-02T00:00:00Z',
  updated_at: '2026-03-02T00:00:00Z',
  fields: [
    { id: 'name', label: '姓名', kind: 'short_text', required: true },
    { id: 'phone', label: '手机', kind: 'mobile', required: true },
    { id: 'visits', label: '次数', kind: 'number', min: 0, max: 10 },
    {
      id: 'like',
      label: '偏好',
      kind: 'multiple_choice',
      max: 1,
      options: [
        { value: 'tea', label: '茶' },
        { value: 'coffee', label: '咖啡' },
      ],
    },
    { id: 'mail', label: '邮箱', kind: 'email' },
  ],
}

describe('smart form answers', () => {
  it('start from the last submission, or empty', () => {
    expect(initialAnswers(form, null)).toEqual({ name: '', phone: '', visits: null, like: [], mail: '' })
    const again = initialAnswers(form, {
      form_id: form.form_id,
      external_userid: 'wm1',
      answers: { name: '小明', like: ['tea'], visits: 3 },
      version: 1,
      submitted_at: '',
      first_submitted_at: '',
    })
    expect(again).toMatchObject({ name: '小明', like: ['tea'], visits: 3 })
  })

  it('are checked as the API checks them, with its codes', () => {
    const problems = answerProblems(form, { name: ' ', phone: '1234', visits: 11, like: ['tea', 'coffee'], mail: 'a@b' })
    expect(problems.map((p) => [p.field, p.code])).toEqual([
      ['name', 'required'],
      ['phone', 'not_a_mobile'],
      ['visits', 'above_max'],
      ['like', 'too_many'],
      ['mail', 'not_an_email'],
    ])
    expect(answerProblems(form, { name: '小明', phone: '13800138000', visits: null, like: [], mail: '' })).toEqual([])
  })

  it('send no blank answers', () => {
    expect(sendable({ name: ' 小明 ', phone: '13800138000', visits: null, like: [], mail: '' })).toEqual({ name: '小明', phone: '13800138000' })
  })
})
