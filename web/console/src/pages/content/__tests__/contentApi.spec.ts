import { describe, expect, it } from 'vitest'
import { fileProblem } from '../contentApi'

describe('fileProblem', () => {
  it('takes what WeCom takes for the kind', () => {
    expect(fileProblem('image', { type: 'image/png', size: 1000 })).toBeNull()
    expect(fileProblem('video', { type: 'video/mp4', size: 10 * 1024 * 1024 })).toBeNull()
    expect(fileProblem('file', { type: 'application/pdf', size: 20 * 1024 * 1024 })).toBeNull()
  })

  it('refuses another type, an empty file or one over the limit', () => {
    expect(fileProblem('image', { type: 'image/gif', size: 1000 })?.key).toBe('content.upload.wrongType')
    expect(fileProblem('video', { type: 'video/mp4', size: 10 * 1024 * 1024 + 1 })).toEqual({ key: 'content.upload.tooLarge', max: 10 })
    expect(fileProblem('link', { type: 'image/png', size: 3 * 1024 * 1024 })?.max).toBe(2)
    expect(fileProblem('image', { type: 'image/png', size: 5 })?.key).toBe('content.upload.tooLarge')
  })
})
