import { describe, expect, it } from 'vitest'
import { routeQueryOf, searchFromRoute, searchParams, searchProblem } from '../customerModel'

describe('customer search', () => {
  it('asks the API by name prefix or by exact id, nothing for an empty text', () => {
    expect(searchParams({ mode: 'name', text: '  张 ' })).toEqual({ name: '张' })
    expect(searchParams({ mode: 'id', text: 'wmABC ' })).toEqual({ external_userid: 'wmABC' })
    expect(searchParams({ mode: 'name', text: '   ' })).toEqual({})
  })

  it('states the API limits before asking', () => {
    expect(searchProblem({ mode: 'name', text: 'x'.repeat(64) })).toBeNull()
    expect(searchProblem({ mode: 'name', text: 'x'.repeat(65) })).toBe('customers.search.tooLong')
    // Characters, not UTF-16 units: 64 Chinese characters or emoji are fine.
    expect(searchProblem({ mode: 'name', text: '😀'.repeat(64) })).toBeNull()
    expect(searchProblem({ mode: 'id', text: 'wm#1' })).toBe('customers.search.invalidId')
    expect(searchProblem({ mode: 'id', text: 'w'.repeat(129) })).toBe('customers.search.invalidId')
    expect(searchProblem({ mode: 'name', text: 'a\u0007b' })).toBe('customers.search.invalid')
    expect(searchProblem({ mode: 'id', text: '' })).toBeNull()
  })

  it('keeps the search in the URL and reads it back', () => {
    expect(routeQueryOf({ mode: 'name', text: ' zhang ' }, { tab: 'x', id: 'old' })).toEqual({ tab: 'x', name: 'zhang' })
    expect(routeQueryOf({ mode: 'id', text: 'wm1' })).toEqual({ id: 'wm1' })
    expect(routeQueryOf({ mode: 'name', text: '' }, { name: 'old' })).toEqual({})
    expect(searchFromRoute({ id: 'wm1', name: 'z' })).toEqual({ mode: 'id', text: 'wm1' })
    expect(searchFromRoute({ name: ['zhang', 'li'] })).toEqual({ mode: 'name', text: 'zhang' })
    expect(searchFromRoute({})).toEqual({ mode: 'name', text: '' })
  })
})
