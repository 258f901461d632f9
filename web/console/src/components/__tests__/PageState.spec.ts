import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import PageState from '@/components/PageState.vue'
import { ApiError } from '@/api/errors'

const content = { default: '<p class="content">rows</p>', 'empty-action': '<button class="next">Create one</button>' }

describe('PageState', () => {
  it('shows a skeleton while loading, not the content', () => {
    const w = mount(PageState, { props: { loading: true }, slots: content })
    expect(w.find('[data-state="loading"]').exists()).toBe(true)
    expect(w.find('.content').exists()).toBe(false)
  })

  it('shows the API message and retries', async () => {
    const w = mount(PageState, {
      props: { error: new ApiError(403, 'forbidden', 'this key lacks the scope admin') },
      slots: content,
    })
    expect(w.find('[data-state="error"]').text()).toContain('this key lacks the scope admin')
    await w.find('button').trigger('click')
    expect(w.emitted('retry')).toHaveLength(1)
  })

  it('says what to do next when empty', () => {
    const w = mount(PageState, { props: { empty: true, emptyText: 'No customers yet: run a re-sync' }, slots: content })
    expect(w.find('[data-state="empty"]').text()).toContain('No customers yet: run a re-sync')
    expect(w.find('.next').exists()).toBe(true)
  })

  it('shows the content otherwise', () => {
    const w = mount(PageState, { props: {}, slots: content })
    expect(w.find('.content').exists()).toBe(true)
  })
})
