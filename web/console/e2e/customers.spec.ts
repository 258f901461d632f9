import type { Page } from '@playwright/test'
import { test, expect, axe, shot, loginWithWeCom } from './fixtures'
import { expectChartDrawn, settled } from './console-helpers'

/** The search box (Element Plus puts the attribute on the input or its wrapper). */
const searchBox = (page: Page) => page.locator('input[data-test="customer-search"], [data-test="customer-search"] input')

test.describe('customers and groups', () => {
  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'lisi')
  })

  test('the customer list pages through the directory, and an unknown name says what to do next', async ({ page }) => {
    await page.goto('/customers')
    await settled(page)
    const rows = page.locator('[data-test="customer-table"] .el-table__body tr')
    await expect(rows.first()).toBeVisible()
    expect(await rows.count()).toBeGreaterThan(0)
    await shot(page, 'customers')
    await axe(page)
    await searchBox(page).fill('no-such-customer-anywhere')
    await expect(page).toHaveURL(/[?&]name=no-such-customer-anywhere/)
    await expect(page.locator('[data-state="empty"]')).toContainText('没有名称以“no-such-customer-anywhere”开头的客户')
    await page.locator('[data-test="customer-search-clear"]').click()
    await expect(rows.first()).toBeVisible()
    await expect(page).not.toHaveURL(/name=/)
  })

  test('a name search finds a customer beyond the first page, over the whole tenant', async ({ page }) => {
    // The demo corp has more customers than a page; "Zed Searchable" (wmdemo124) is last by id.
    await page.goto('/customers')
    await settled(page)
    const table = page.locator('[data-test="customer-table"]')
    await expect(table.locator('.el-table__body tr').first()).toBeVisible()
    await expect(page.locator('[data-test="next-page"]')).toBeEnabled()
    await expect(table).not.toContainText('wmdemo124')
    // Case and full-width letters do not matter; the page waits for a pause in typing.
    await searchBox(page).pressSequentially('ＺＥＤ ｓ', { delay: 30 })
    await expect(page).toHaveURL(/[?&]name=/)
    await expect(table.locator('.el-table__body tr')).toHaveCount(1)
    await expect(table).toContainText('Zed Searchable')
    await expect(table).toContainText('wmdemo124')
    await shot(page, 'customers-search')
    // The search is in the URL: a reload shows the same result.
    await page.reload()
    await settled(page)
    await expect(searchBox(page)).toHaveValue(/ｓ$/)
    await expect(page.locator('[data-test="customer-table"]')).toContainText('wmdemo124')
    // Chinese names by their first characters, in name order.
    await searchBox(page).fill('演示客户2')
    await expect(page.locator('[data-test="customer-table"] .el-table__body tr')).toHaveCount(4)
    await expect(page.locator('[data-test="customer-table"] .el-table__body tr').first()).toContainText('演示客户20')
    // By exact id.
    await page.locator('[data-test="customer-search-mode"]').click()
    await page.getByRole('option', { name: '按 external_userid' }).click()
    await searchBox(page).fill('wmdemo003')
    await expect(page).toHaveURL(/[?&]id=wmdemo003/)
    await expect(page.locator('[data-test="customer-table"] .el-table__body tr')).toHaveCount(1)
    await expect(page.locator('[data-test="customer-table"]')).toContainText('小刚')
    await axe(page)
  })

  test('a search the API refuses shows the API message', async ({ page }) => {
    await page.goto(`/customers?name=${'x'.repeat(65)}`)
    await expect(page.locator('[data-state="error"]')).toBeVisible()
    await expect(page.locator('[data-state="error"]')).toContainText('name must be 1 to 64 characters')
  })

  test('a customer’s page shows profile, tags, groups and points', async ({ page }) => {
    await page.goto('/customers')
    await settled(page)
    await page.locator('[data-test="customer-table"] .el-table__body tr a').first().click()
    await expect(page).toHaveURL(/\/customers\/[^/]+$/)
    await settled(page)
    await expect(page.locator('[data-test="customer-profile"]')).toBeVisible()
    await expect(page.locator('[data-test="customer-points"]')).toBeVisible()
    await expect(page.locator('[data-test="customer-groups"]')).toBeVisible()
    await shot(page, 'customer')
    await axe(page)
  })

  test('an unknown customer id shows the API message, not a blank page', async ({ page }) => {
    await page.goto('/customers/wmnosuchcustomer')
    await expect(page.locator('[data-state="error"]')).toBeVisible()
    await shot(page, 'customer-not-found')
  })

  test('the group list and a group’s page with members and charts', async ({ page }) => {
    await page.goto('/groups')
    await settled(page)
    await expect(page.locator('[data-test="group-table"]')).toContainText('会员福利群')
    await shot(page, 'groups')
    await axe(page)
    await page.getByRole('link', { name: '会员福利群' }).click()
    await expect(page).toHaveURL(/\/groups\/wrdemo001$/)
    await settled(page)
    await expect(page.locator('[data-test="group-members"] .el-table__body tr').first()).toBeVisible()
    await expectChartDrawn(page.locator('[data-chart="joins"]'))
    await expectChartDrawn(page.locator('[data-chart="check-in-rate"]'))
    await shot(page, 'group')
    await axe(page)
  })
})
