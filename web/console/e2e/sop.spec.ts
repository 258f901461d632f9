// The SOP pages against the real local stack: start a group plan from the daily check-in
// template at the current minute (a plan saved during one of its minutes is due at once:
// minutes are the dispatcher's grain) with its check-in link's clicks tracked, see its next
// occurrences, let the dispatcher run it and
// read the occurrence's figures and tasks; pause, resume and end it from the list; the
// calendar. Every page is screenshot and scanned with axe.
import { test, expect, apiOk, invoke, loginWithWeCom, shot, axe, stack } from './fixtures'
import { settled } from './console-helpers'

/** `HH:MM` in `zone`, now. */
function minuteIn(zone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date())
}

test.describe.configure({ mode: 'serial' })

test.describe('sop', () => {
  let planId = ''
  const name = `E2E 签到提醒 ${Date.now().toString(36)}`

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('create a group plan from the check-in template', async ({ page }) => {
    // Up to 30 s for a minute with time left, then the editor.
    test.setTimeout(120_000)
    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    const zone = tenant.settings?.timezone ?? 'Asia/Shanghai'

    await page.goto('/sop/templates')
    await settled(page)
    await shot(page, 'sop-templates')
    await axe(page)
    await page.getByTestId('template-daily-check-in').getByRole('button').click()
    await page.getByTestId('template-url').fill('https://h5.example.com/check-in')
    await page.getByTestId('template-url-ok').click()
    await expect(page).toHaveURL(/\/sop\/plans\/new/)

    await expect(page.getByTestId('plan-content-text')).toHaveValue(/签到/)
    // The template's check-in link, sent as a tracked short link.
    const track = page.getByTestId('plan-content-link-track')
    await expect(track).toHaveCount(1)
    await expect(track).not.toHaveClass(/is-checked/)
    await track.click()
    await expect(track).toHaveClass(/is-checked/)
    await page.getByTestId('plan-name').fill(name)
    await page.getByTestId('group-select').click()
    await page.keyboard.type('wrdemo001')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')
    // This very minute, with time left to save the plan within it: due at once.
    await expect.poll(() => new Date().getSeconds(), { timeout: 40_000, intervals: [500] }).toBeLessThan(30)
    const at = minuteIn(zone)
    await page.getByTestId('schedule-time-exact').fill(at)
    await expect(page.getByTestId('schedule-preview').locator('li').first()).toContainText(at)
    await shot(page, 'sop-plan-editor')
    await axe(page)

    await page.getByTestId('plan-save').click()
    await expect(page).toHaveURL(/\/sop\/plans\/p[a-z0-9]+$/)
    planId = page.url().split('/').pop()!
    await expect(page.getByTestId('plan-status')).toContainText('进行中')
    const stored = await apiOk<{ content?: { attachments?: Record<string, unknown>[] } }>('GET', `/v1/sop/plans/${planId}`)
    expect(stored.content?.attachments).toEqual([
      expect.objectContaining({ kind: 'link', url: 'https://h5.example.com/check-in', track: true }),
    ])
    await expect(page.getByTestId('plan-attachment')).toContainText('追踪点击')
    await shot(page, 'sop-plan')
    await axe(page)
  })

  test('a dispatch turns the occurrence into tasks, shown with the figures', async ({ page }) => {
    expect(planId).not.toBe('')
    // The dispatcher runs every minute in production; here it is invoked until the plan's
    // first occurrence (the minute it was saved in) has been dispatched.
    await expect
      .poll(
        async () => {
          await invoke('sop-dispatch', { tenant: stack.corpId })
          const page1 = await apiOk<{ occurrences: unknown[] }>('GET', `/v1/sop/plans/${planId}/occurrences`)
          return page1.occurrences.length
        },
        { timeout: 30_000, intervals: [1_000] },
      )
      .toBeGreaterThan(0)

    await page.goto(`/sop/plans/${planId}`)
    const occurrences = page.getByTestId('occurrences-table')
    await expect(occurrences.locator('tbody tr')).toHaveCount(1)
    await occurrences.locator('tbody tr a').first().click()
    await expect(page).toHaveURL(/\/occurrences\//)
    await expect(page.getByTestId('figures')).toBeVisible()
    const groups = page.getByTestId('per-group')
    await expect(groups).toContainText('会员福利群')
    await expect(groups.getByTestId('task-state')).toHaveCount(1)
    await expect(page.getByTestId('per-owner')).toContainText('zhangsan')
    await shot(page, 'sop-occurrence')
    await axe(page)
  })

  test('pause, resume and end the plan from the list', async ({ page }) => {
    expect(planId).not.toBe('')
    await page.goto('/sop/plans')
    const row = page.getByTestId('plans-table').locator('tr', { hasText: name })
    await expect(row.getByTestId('plan-status')).toContainText('进行中')
    await shot(page, 'sop-plans')
    await axe(page)

    await row.getByRole('button', { name: '暂停' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(name)
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('plan-status')).toContainText('已暂停')

    await row.getByRole('button', { name: '恢复' }).click()
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('plan-status')).toContainText('进行中')

    await row.getByRole('button', { name: '结束' }).click()
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('plan-status')).toContainText('已结束')
    const stored = await apiOk<{ status: string }>('GET', `/v1/sop/plans/${planId}`)
    expect(stored.status).toBe('ended')
  })

  test('the calendar shows what ran and what is due', async ({ page }) => {
    await page.goto('/sop/calendar')
    await expect(page.getByTestId('calendar').or(page.locator('[data-state=empty]'))).toBeVisible()
    await shot(page, 'sop-calendar-week')
    await axe(page)
    await page.getByRole('radiogroup', { name: '视图' }).getByText('月', { exact: true }).click()
    await expect(page.getByTestId('calendar').or(page.locator('[data-state=empty]'))).toBeVisible()
    await shot(page, 'sop-calendar-month')
  })
})
