// The fission campaign pages (任务宝) against the real local stack: a coupon list is created
// from pasted codes (repeats skipped) and restocked; saving an empty campaign form shows the
// problems and sends nothing; a campaign with two tiers (the second paying from the coupon
// list), a staff member and a poster template (previewed live) is created, listed with its
// figures, opened, renamed through its edit page, and ended early after a confirmation. Every
// page is screenshot and scanned with axe.
import { test, expect, apiOk, loginWithWeCom, shot, axe, stack } from './fixtures'
import { settled } from './console-helpers'

test.describe.configure({ mode: 'serial' })

test.describe('fission campaigns', () => {
  const suffix = Date.now().toString(36)
  const name = `E2E 邀请有礼 ${suffix}`
  const listName = `E2E 券池 ${suffix}`
  let id = ''
  let listId = ''

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('a coupon list is created from pasted codes and restocked', async ({ page }) => {
    await page.goto('/growth/fission-campaigns')
    await settled(page)
    await page.getByTestId('fission-coupon-lists').click()
    await expect(page).toHaveURL(/\/growth\/coupon-lists$/)
    await settled(page)
    await page.getByTestId('coupon-list-create').first().click()
    const dialog = page.getByTestId('coupon-dialog')
    // Nothing typed: the problems show and nothing is sent.
    await dialog.getByTestId('coupon-save').click()
    await expect(dialog.locator('.el-form-item.is-error')).toHaveCount(1)
    await dialog.getByTestId('coupon-list-name-input').fill(listName)
    await dialog.getByTestId('coupon-codes-input').fill(`E2E-${suffix}-1\nE2E-${suffix}-2,E2E-${suffix}-1`)
    await expect(dialog).toContainText('共 2 个券码')
    await shot(page, 'growth-coupon-list-new')
    await axe(page)
    await dialog.getByTestId('coupon-save').click()
    await expect(page.locator('.el-message')).toContainText('已添加 2 个券码')
    const row = page.getByTestId('coupon-lists').locator('tr', { hasText: listName })
    await expect(row.getByTestId('coupon-list-stock')).toHaveText('2')

    // More codes: the one it has is skipped.
    await row.getByTestId('coupon-list-add').click()
    await dialog.getByTestId('coupon-codes-input').fill(`E2E-${suffix}-2\nE2E-${suffix}-3`)
    await dialog.getByTestId('coupon-save').click()
    await expect(page.locator('.el-message').last()).toContainText('跳过重复 1 个')
    await expect(row.getByTestId('coupon-list-stock')).toHaveText('3')
    await expect(row.getByTestId('coupon-list-issued')).toHaveText('0')
    await shot(page, 'growth-coupon-lists')
    await axe(page)

    const lists = await apiOk<{ items: { id: string; name: string; stock: number }[] }>('GET', '/v1/growth/coupon-lists')
    const stored = lists.items.find((l) => l.name === listName)
    expect(stored?.stock).toBe(3)
    listId = stored!.id
  })

  test('create a campaign with two tiers and a poster template', async ({ page }) => {
    expect(listId).not.toBe('')
    await page.goto('/growth/fission-campaigns')
    await settled(page)
    await shot(page, 'growth-fissions-before')
    await axe(page)
    await page.getByTestId('fission-create').click()
    await expect(page).toHaveURL(/\/growth\/fission-campaigns\/new$/)
    await settled(page)

    // Saving the empty form shows the problems and sends nothing.
    await page.getByTestId('fission-save').click()
    await expect(page.getByTestId('fission-fix-problems')).toBeVisible()
    await expect(page).toHaveURL(/\/new$/)

    await page.getByTestId('fission-name').fill(name)
    // A second tier, paying a coupon: it asks one invite more than the first by default.
    await page.getByTestId('fission-add-tier').click()
    await expect(page.getByTestId('fission-tier')).toHaveCount(2)
    await page.getByTestId('fission-tier-kind').nth(1).click()
    await page.getByRole('option', { name: '优惠券' }).click()
    await page.getByTestId('fission-tier-list').click()
    await page.getByRole('option', { name: listName }).click()
    await page.getByTestId('fission-hold').locator('input').fill('1')
    await page.getByTestId('fission-userids').click()
    await page.keyboard.type('zhangsan')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')

    // The poster: the preview follows the template, and marks the QR code once it leaves the canvas.
    await page.getByTestId('fission-background').fill(`${stack.wecomUrl}/_fake/qr/poster-background`)
    const preview = page.getByTestId('fission-poster-preview')
    await expect(preview.getByTestId('fission-poster-background')).toHaveAttribute('href', /_fake\/qr\/poster-background$/)
    const qrX = page.getByTestId('fission-qr-x').locator('input')
    await qrX.fill('700')
    await qrX.blur()
    await expect(preview.getByTestId('fission-poster-qr')).toHaveAttribute('data-bad', 'true')
    await qrX.fill('490')
    await qrX.blur()
    await expect(preview.getByTestId('fission-poster-qr')).toHaveAttribute('data-bad', 'false')
    await expect(page.getByTestId('fission-fix-problems')).toHaveCount(0)
    await shot(page, 'growth-fission-editor')
    await axe(page)

    await page.getByTestId('fission-save').click()
    await expect(page).toHaveURL(/\/growth\/fission-campaigns\/fc[0-9a-f]{16}$/)
    id = page.url().split('/').pop()!
    await settled(page)
    await expect(page.getByTestId('fission-phase')).toContainText('进行中')
    await expect(page.getByTestId('fission-figure-inviters')).toContainText('0')
    await expect(page.getByTestId('fission-tiers').locator('tbody tr')).toHaveCount(2)
    await expect(page.getByTestId('fission-tiers')).toContainText('优惠券')
    // The coupon tier names its list, not its id.
    await expect(page.getByTestId('fission-tiers')).toContainText(listName)
    await expect(page.getByTestId('fission-tiers')).not.toContainText(listId)
    await expect(page.getByTestId('fission-customer-path')).toContainText(`#/c/fission/${id}`)
    await shot(page, 'growth-fission')
    await axe(page)

    // What the API stored is what was typed.
    const stored = await apiOk<{ name: string; tiers: unknown[]; userids: string[]; hold_hours: number; poster: { qr: { x: number } } }>(
      'GET',
      `/v1/growth/fission-campaigns/${id}`,
    )
    expect(stored).toMatchObject({
      name,
      hold_hours: 1,
      userids: ['zhangsan'],
      tiers: [
        { invites: 3, reward: { kind: 'points', points: 100 } },
        { invites: 4, reward: { kind: 'coupon', list_id: listId } },
      ],
      poster: { qr: { x: 490 } },
    })
  })

  test('listed with its figures, opened, and ended early after a confirmation', async ({ page }) => {
    expect(id).not.toBe('')
    await page.goto('/growth/fission-campaigns')
    await settled(page)
    const row = page.getByTestId('fission-table').locator('tr', { hasText: name })
    await expect(row.getByTestId('fission-phase')).toContainText('进行中')
    await expect(row.getByTestId('fission-inviters')).toHaveText('0')
    await expect(row.getByTestId('fission-tiers-paid')).toHaveText('0 / 0')
    await shot(page, 'growth-fissions')
    await axe(page)

    await row.getByTestId('fission-link').click()
    await expect(page).toHaveURL(new RegExp(`/growth/fission-campaigns/${id}$`))
    await settled(page)
    await expect(page.locator('[data-state="empty"]')).toContainText('还没有人邀请成功')
    await expect(page.getByTestId('fission-figure-coupons')).toContainText('0')

    // Started: the edit page opens with only the name, end and cap open; a new name is saved.
    await page.getByTestId('fission-edit').click()
    await expect(page).toHaveURL(new RegExp(`/growth/fission-campaigns/${id}/edit$`))
    await settled(page)
    await expect(page.getByTestId('fission-started-hint')).toBeVisible()
    await expect(page.getByTestId('fission-hold').locator('input')).toBeDisabled()
    await page.getByTestId('fission-name').fill(`${name} 加推`)
    await shot(page, 'growth-fission-edit')
    await axe(page)
    await page.getByTestId('fission-save').click()
    await expect(page).toHaveURL(new RegExp(`/growth/fission-campaigns/${id}$`))
    await settled(page)
    await expect(page.locator('.title')).toContainText(`${name} 加推`)
    const edited = await apiOk<{ name: string; version: number }>('GET', `/v1/growth/fission-campaigns/${id}`)
    expect(edited).toMatchObject({ name: `${name} 加推`, version: 2 })

    await page.getByTestId('fission-end').click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(`${name} 加推`)
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText('不能撤销')
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('fission-phase')).toContainText('已提前结束')
    await expect(page.getByTestId('fission-end')).toHaveCount(0)
    const stored = await apiOk<{ status: string }>('GET', `/v1/growth/fission-campaigns/${id}`)
    expect(stored.status).toBe('ended')
    await shot(page, 'growth-fission-ended')
    await axe(page)
  })
})
