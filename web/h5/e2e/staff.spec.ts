// The staff pages against the real local stack: a group plan is due, the dispatcher sends
// zhangsan (the group's owner) a reminder; he opens its link, copies the content and marks
// the task done, and the plan's figures count it. Every page is screenshot and scanned.
import { test, expect, apiOk, invoke, appMessages, shot, axe, stack } from './fixtures'

/** `HH:MM` in `zone`, `minutes` from now. */
function timeIn(zone: string, minutes: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(Date.now() + minutes * 60_000),
  )
}

interface Figures {
  figures: { tasks_total?: number; tasks_done?: number; tasks_pending?: number }
}

test.describe.configure({ mode: 'serial' })

test.describe('staff task center', () => {
  const name = `H5 任务 ${Date.now().toString(36)}`
  const text = `今晚 8 点群内签到，连续 7 天送好礼 ${Date.now().toString(36)}`

  test('a reminder link opens the task center; copy the content and mark the task done', async ({ page, context }) => {
    test.setTimeout(300_000)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.h5Url })
    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    const zone = tenant.settings?.timezone ?? 'Asia/Shanghai'
    const plan = await apiOk<{ plan_id: string }>('POST', '/v1/sop/plans', {
      name,
      kind: 'group',
      targets: { chat_ids: ['wrdemo001'] },
      schedule: { kind: 'daily', time: timeIn(zone, 2) },
      content: { text, attachments: [{ kind: 'link', title: '签到活动', url: 'https://h5.example.com/check-in' }] },
    })

    // The dispatcher runs every minute in production; here it is invoked until the reminder
    // of this plan's first occurrence has reached zhangsan.
    let link = ''
    await expect
      .poll(
        async () => {
          await invoke('sop-dispatch', { tenant: stack.corpId })
          const mine = (await appMessages()).filter(
            (m) => m.touser?.split('|').includes('zhangsan') && `${m.textcard?.title}${m.textcard?.description}`.includes(name),
          )
          link = mine.at(-1)?.textcard?.url ?? ''
          return link
        },
        { timeout: 240_000, intervals: [5_000] },
      )
      .toContain('token=')
    const before = await apiOk<Figures>('GET', `/v1/sop/plans/${plan.plan_id}/figures`)
    expect(before.figures.tasks_done ?? 0).toBe(0)

    // The reminder's link, opened on the mobile pages.
    const token = new URL(link).searchParams.get('token')!
    await page.goto(`/?token=${encodeURIComponent(token)}`)
    await expect(page).toHaveURL(/#\/staff\/tasks/)
    const group = page.getByTestId('plan-group').filter({ hasText: name })
    await expect(group).toBeVisible()
    await shot(page, 'staff-tasks')
    await axe(page)

    await group.getByTestId('task-row').first().click()
    await expect(page).toHaveURL(/#\/staff\/tasks\/.+/)
    await expect(page.getByTestId('task-text')).toHaveText(text)
    await shot(page, 'staff-task')
    await axe(page)

    // One tap copies the text (outside WeCom: no chat to send it into).
    await page.getByTestId('copy-text').click()
    await expect(page.getByText('已复制，请粘贴到聊天中')).toBeVisible()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text)

    await page.getByTestId('mark-done').click()
    await expect(page.getByTestId('task-done')).toBeVisible()
    await shot(page, 'staff-task-done')

    await expect
      .poll(async () => (await apiOk<Figures>('GET', `/v1/sop/plans/${plan.plan_id}/figures`)).figures.tasks_done ?? 0)
      .toBe(1)

    // Back on the list, the task is under "sent".
    await page.goBack()
    await page.getByRole('tab', { name: '已推送' }).click()
    await expect(page.getByTestId('plan-group').filter({ hasText: name })).toBeVisible()
    await shot(page, 'staff-tasks-done')
    await axe(page)

    // The customer sidebar, outside WeCom for a customer named in the query (as in
    // development); in a chat's toolbar WeCom names the customer.
    const customers = await apiOk<{ items: { external_userid: string }[] }>('GET', '/v1/customers?limit=1')
    const customer = customers.items[0]?.external_userid
    expect(customer).toBeTruthy()
    await page.goto(`/#/staff/sidebar?external_userid=${customer}`)
    await expect(page.getByTestId('sidebar-profile').or(page.locator('[data-state=error]'))).toBeVisible()
    await shot(page, 'staff-sidebar')
    await axe(page)

    await apiOk('POST', `/v1/sop/plans/${plan.plan_id}/end`)
  })

  test('a used or forged link says why', async ({ page }) => {
    await page.goto('/?token=forged.link.value')
    await expect(page.locator('[data-state=error]')).toBeVisible()
    await shot(page, 'staff-login-error')
    await axe(page)
  })
})
