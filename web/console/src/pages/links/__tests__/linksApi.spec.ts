import { describe, expect, it } from 'vitest'
import { linkProblems } from '../linksApi'

describe('tracked link input', () => {
  it('takes http and https addresses with a host and an optional title of 1 to 64 characters', () => {
    expect(linkProblems('https://shop.example.com/a?b=1', '')).toEqual([])
    expect(linkProblems('HTTP://example.com', '大促')).toEqual([])
    expect(linkProblems('javascript:alert(1)', '')).toEqual(['url'])
    expect(linkProblems('ftp://example.com', '')).toEqual(['url'])
    expect(linkProblems('https://exa mple.com', '')).toEqual(['url'])
    expect(linkProblems(`https://example.com/${'a'.repeat(2100)}`, '')).toEqual(['urlLength'])
    expect(linkProblems('https://example.com', '   ')).toEqual(['title'])
    expect(linkProblems('https://example.com', '标'.repeat(65))).toEqual(['title'])
  })
})
