import { test, expect, axe, shot, loginWithWeCom } from './fixtures'
import { expectChartDrawn, settled } from './console-helpers'

test.describe('customers and groups', () => {
  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'lisi')
  })

  test('the customer list pages through the directory and filters the page', async ({ page }) => {
    await page.goto('/customers')
    await settled(page)
    const rows = page.locator('[data-test="customer-table"] .el-table__body tr')
    await expect(rows.first()).toBeVisible()
    const count = await rows.count()
    expect(count).toBeGreaterThan(0)
    await shot(page, 'customers')
    await axe(page)
    await page.locator('input[data-test="customer-filter"], [data-test="customer-filter"] input').fill('no-such-customer-anywhere')
    await expect(page.locator('[data-test="customer-table"]')).toContainText('本页没有匹配的客户')
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
