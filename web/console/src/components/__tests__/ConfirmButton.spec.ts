import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ConfirmButton from '@/components/ConfirmButton.vue'
import { ApiError } from '@/api/errors'

function find(selector: string): HTMLElement | null {
  return document.body.querySelector(selector)
}

describe('ConfirmButton', () => {
  it('does nothing until confirmed, then runs the action once and closes', async () => {
    const action = vi.fn().mockResolvedValue('ok')
    const w = mount(ConfirmButton, {
      props: { label: 'Revoke', message: 'Revoke key ci?', count: 3, countText: 'keys', action },
      attachTo: document.body,
    })
    expect(action).not.toHaveBeenCalled()
    await w.find('[data-test="confirm-trigger"]').trigger('click')
    await flushPromises()
    expect(find('[data-test="confirm-message"]')?.textContent).toContain('Revoke key ci?')
    expect(find('[data-test="confirm-count"]')?.textContent).toContain('3')
    find('[data-test="confirm-proceed"]')!.click()
    await flushPromises()
    expect(action).toHaveBeenCalledTimes(1)
    expect(w.emitted('done')?.[0]).toEqual(['ok'])
    w.unmount()
  })

  it('keeps the dialog open with the API message when the action fails', async () => {
    const action = vi.fn().mockRejectedValue(new ApiError(409, 'conflict', 'the key is already revoked'))
    const w = mount(ConfirmButton, { props: { label: 'Revoke', message: 'Revoke?', action }, attachTo: document.body })
    await w.find('[data-test="confirm-trigger"]').trigger('click')
    await flushPromises()
    find('[data-test="confirm-proceed"]')!.click()
    await flushPromises()
    expect(find('[data-test="confirm-error"]')?.textContent).toContain('the key is already revoked')
    expect(w.emitted('done')).toBeUndefined()
    expect(w.emitted('error')).toHaveLength(1)
    w.unmount()
  })
})
