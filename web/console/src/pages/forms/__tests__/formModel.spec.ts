import { describe, expect, it } from 'vitest'
import { answerText, emptyField, emptyForm, formProblems, placeholders, toInput } from '../formModel'
import { dropHeader } from '../formsApi'

describe('form model', () => {
  it('an empty form asks for a title and labels, nothing else', () => {
    const f = emptyForm()
    expect(formProblems(f).map((p) => p.field)).toEqual(['title', 'fields[0].label'])
  })

  it('refuses what the API refuses', () => {
    const f = emptyForm()
    f.title = '调查'
    f.fields[0].label = '姓名'
    const choice = emptyField('multiple_choice', ['f1'])
    choice.label = '偏好'
    choice.options[0].label = '茶'
    choice.options[1].label = '咖啡'
    choice.min = 3
    f.fields.push(choice)
    f.fields.push({ ...emptyField('mobile', []), id: 'f1', label: '手机', profile_field: 'name' })
    f.remark_template = '{f1}-{nope}'
    const fields = formProblems(f).map((p) => p.field)
    expect(fields).toEqual(['fields[1].min', 'fields[2].id', 'fields[2].profile_field', 'remark_template'])
  })

  it('sends only what applies to each kind', () => {
    const f = emptyForm()
    f.title = ' 调查 '
    f.fields[0] = { ...f.fields[0], label: '姓名', min: 3, max_length: 20, profile_field: 'name' }
    const choice = emptyField('single_choice', ['f1'])
    choice.label = '城市'
    choice.options = [
      { value: 'sh', label: '上海', tag_id: 'etsh' },
      { value: 'bj', label: '北京', tag_id: '' },
    ]
    f.fields.push(choice)
    expect(toInput(f)).toEqual({
      title: '调查',
      fields: [
        { id: 'f1', label: '姓名', kind: 'short_text', required: false, max_length: 20, profile_field: 'name' },
        {
          id: 'f2',
          label: '城市',
          kind: 'single_choice',
          required: false,
          options: [
            { value: 'sh', label: '上海', tag_id: 'etsh' },
            { value: 'bj', label: '北京' },
          ],
        },
      ],
    })
    expect(answerText(toInput(f).fields[1], 'sh')).toBe('上海')
    expect(placeholders('{a}-{b}')).toEqual(['a', 'b'])
  })

  it('drops the header of a later export file, quoted line breaks and all', () => {
    expect(dropHeader('\uFEFFa,"b\nc"\r\nx,y\r\n')).toBe('x,y\r\n')
    expect(dropHeader('only')).toBe('')
  })
})
