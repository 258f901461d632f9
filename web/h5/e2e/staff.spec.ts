// The staff pages against the real local stack: a group plan saved at the current minute is
// due at once (minutes are the dispatcher's grain), the dispatcher sends zhangsan (the
// group's owner) a reminder through the fake WeCom; its link, opened as it is, lands on the
// task center; he copies the content and marks the task done, and the plan's figures count
// it. A link that no longer works, or none, goes through WeCom's in-app login (the fake's
// page). A plan made of content-center materials (a text, an uploaded image, a link) shows
// them as their content. Every page is screenshot and scanned.
import type { Page } from '@playwright/test'
import { test, expect, apiOk, invoke, appMessages, shot, axe, stack } from './fixtures'

/** `HH:MM` in `zone`, now. */
function minuteIn(zone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date())
}

/** Returns once the current minute has 15 s left at least: a plan saved now is saved within it. */
async function earlyInAMinute(): Promise<void> {
  await expect.poll(() => new Date().getSeconds(), { timeout: 20_000, intervals: [500] }).toBeLessThan(45)
}

/** On the fake WeCom's in-app OAuth page (WeCom itself lets the signed-in member through). */
async function signInToWeCom(page: Page, userid: string): Promise<void> {
  await expect(page).toHaveURL(/\/connect\/oauth2\/authorize\?/)
  await page.locator(`a[data-userid="${userid}"]`).click()
}

interface Figures {
  figures: { tasks_total?: number; tasks_done?: number; tasks_pending?: number }
}

test.describe.configure({ mode: 'serial' })

test.describe('staff task center', () => {
  const name = `H5 任务 ${Date.now().toString(36)}`
  const text = `今晚 8 点群内签到，连续 7 天送好礼 ${Date.now().toString(36)}`
  let link = ''

  test('a reminder link opens the task center; copy the content and mark the task done', async ({ page, context }) => {
    // Up to 15 s for the minute, then the pages and their scans.
    test.setTimeout(120_000)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.h5Url })
    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    const zone = tenant.settings?.timezone ?? 'Asia/Shanghai'
    await earlyInAMinute()
    const plan = await apiOk<{ plan_id: string; next_due: string }>('POST', '/v1/sop/plans', {
      name,
      kind: 'group',
      targets: { chat_ids: ['wrdemo001'] },
      schedule: { kind: 'daily', time: minuteIn(zone) },
      content: { text, attachments: [{ kind: 'link', title: '签到活动', url: 'https://h5.example.com/check-in' }] },
    })
    expect(Date.parse(plan.next_due), 'saved at its own minute, the plan is due at once').toBeLessThanOrEqual(Date.now())

    // The dispatcher runs every minute in production; here it is invoked until the reminder
    // of this plan's first occurrence has reached zhangsan through WeCom.
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
        { timeout: 30_000, intervals: [1_000] },
      )
      .toContain('token=')
    // It leads to the mobile pages, not to the API's JSON.
    expect(link.startsWith(`${stack.h5Url}/?`), link).toBe(true)
    const before = await apiOk<Figures>('GET', `/v1/sop/plans/${plan.plan_id}/figures`)
    expect(before.figures.tasks_done ?? 0).toBe(0)

    // The reminder's link, opened as it is in the phone's browser.
    await page.goto(link)
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

  test('a link used already signs in through WeCom instead, and so does no link', async ({ page }) => {
    expect(link).not.toBe('')
    // Another device (no session here): the link was exchanged, so WeCom says who this is.
    await page.goto(link)
    await signInToWeCom(page, 'zhangsan')
    await expect(page).toHaveURL(/#\/staff\/tasks/)
    await page.getByRole('tab', { name: '已推送' }).click()
    await expect(page.getByTestId('plan-group').filter({ hasText: name })).toBeVisible()

    // The app's entry in WeCom's workbench: no link at all.
    await page.evaluate(() => localStorage.clear())
    const entry = new URL(link)
    await page.goto(`/?app=staff&corp_id=${entry.searchParams.get('corp_id')}&agent_id=${entry.searchParams.get('agent_id')}`)
    await signInToWeCom(page, 'zhangsan')
    await expect(page).toHaveURL(/#\/staff\/tasks/)
    await expect(page.getByRole('tab', { name: '待推送' })).toBeVisible()
    await shot(page, 'staff-tasks-after-wecom-login')
  })

  test('a task made of materials shows their content: text, image and link', async ({ page, context }) => {
    test.setTimeout(120_000)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.h5Url })
    const suffix = Date.now().toString(36)
    const planName = `H5 素材任务 ${suffix}`
    const material = (key: string, body: unknown) =>
      apiOk<{ material_id: string; upload?: { url: string } }>('POST', '/v1/content/materials', body, { 'Idempotency-Key': `h5-${key}-${suffix}` })
    const text = await material('text', { kind: 'text', title: `话术 ${suffix}`, text: `回复 1 领取优惠券 ${suffix}` })
    const link = await material('link', { kind: 'link', title: '春季新品', url: 'https://shop.example.com/spring', desc: '全场 8 折' })
    // An image: created pending, its file put to the presigned URL, then completed.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
    const image = await material('image', { kind: 'image', title: `海报 ${suffix}`, file: { name: 'poster.png', content_type: 'image/png', size: png.length } })
    const put = await fetch(image.upload!.url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: png })
    expect(put.ok).toBe(true)
    await apiOk('POST', `/v1/content/materials/${image.material_id}/complete`)

    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    await earlyInAMinute()
    const plan = await apiOk<{ plan_id: string }>('POST', '/v1/sop/plans', {
      name: planName,
      kind: 'group',
      targets: { chat_ids: ['wrdemo001'] },
      schedule: { kind: 'daily', time: minuteIn(tenant.settings?.timezone ?? 'Asia/Shanghai') },
      content: {
        text: '今日上新',
        attachments: [
          { kind: 'material', material_id: text.material_id },
          { kind: 'material', material_id: image.material_id },
          { kind: 'material', material_id: link.material_id },
        ],
      },
    })
    let reminder = ''
    await expect
      .poll(
        async () => {
          await invoke('sop-dispatch', { tenant: stack.corpId })
          const mine = (await appMessages()).filter(
            (m) => m.touser?.split('|').includes('zhangsan') && `${m.textcard?.title}${m.textcard?.description}`.includes(planName),
          )
          reminder = mine.at(-1)?.textcard?.url ?? ''
          return reminder
        },
        { timeout: 30_000, intervals: [1_000] },
      )
      .toContain('token=')

    await page.goto(reminder)
    await expect(page).toHaveURL(/#\/staff\/tasks/)
    await page.getByTestId('plan-group').filter({ hasText: planName }).getByTestId('task-row').first().click()
    await expect(page).toHaveURL(/#\/staff\/tasks\/.+/)
    // The text material's text joins the text, to copy in one tap.
    await expect(page.getByTestId('task-text')).toHaveText(`今日上新\n回复 1 领取优惠券 ${suffix}`)
    // The image is shown (WeCom's picture URL) and can be saved.
    const img = page.getByTestId('block-image').locator('img')
    await expect(img).toBeVisible()
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(1)
    await expect(page.getByTestId('block-image').locator('a[download]')).toBeVisible()
    // The link card, its URL copied in one tap.
    const card = page.getByTestId('block-link')
    await expect(card).toContainText('春季新品')
    await expect(card).toContainText('https://shop.example.com/spring')
    await expect(page.getByTestId('block-material')).toHaveCount(0)
    await shot(page, 'staff-task-materials')
    await axe(page)
    await card.getByRole('button').click()
    await expect(page.getByText('已复制，请粘贴到聊天中')).toBeVisible()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('https://shop.example.com/spring')

    await apiOk('POST', `/v1/sop/plans/${plan.plan_id}/end`)
  })

  test('a forged link says why', async ({ page }) => {
    await page.goto('/?token=forged.link.value')
    await expect(page.locator('[data-state=error]')).toBeVisible()
    await shot(page, 'staff-login-error')
    await axe(page)
  })
})
