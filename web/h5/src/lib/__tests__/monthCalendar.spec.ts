import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import MonthCalendar from '@/components/MonthCalendar.vue'

describe('the check-in calendar', () => {
  it('marks the checked-in days and labels them for screen readers', () => {
    const wrapper = mount(MonthCalendar, { props: { year: 2026, month: 11, checkedIn: ['2026-11-29', '2026-11-30'], today: '2026-11-30' } })
    const done = wrapper.findAll('[data-checked=true]')
    expect(done.map((d) => d.attributes('data-date'))).toEqual(['2026-11-29', '2026-11-30'])
    expect(done[0].attributes('aria-label')).toContain('2026-11-29')
    expect(wrapper.findAll('th')).toHaveLength(7)
    // The current month has no "next month".
    expect(wrapper.findAll('button')[1].attributes('disabled')).toBeDefined()
  })
})
