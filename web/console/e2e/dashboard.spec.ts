import { test, expect, axe, shot, loginWithWeCom } from './fixtures'
import { expectChartDrawn, settled } from './console-helpers'

test('the dashboard shows the customers and today against yesterday, and draws its four charts', async ({ page }) => {
  await loginWithWeCom(page, 'zhangsan')
  await page.goto('/dashboard')
  await settled(page)
  await expect(page.locator('[data-test="stat-card"]')).toHaveCount(12)
  // The customers: how many now, and gained and lost today, each a number.
  for (const figure of ['customersNow', 'customersAdded', 'customersLost']) {
    await expect(page.locator(`[data-figure="${figure}"]`)).toContainText(/\d/)
  }
  await expect(page.locator('[data-figure="customersNow"]')).toContainText('客户总数')
  for (const chart of ['customers', 'checkIns', 'points', 'sop']) {
    await expectChartDrawn(page.locator(`[data-chart="${chart}"]`))
  }
  // Every chart has its numbers as a table too.
  const table = page.locator('[data-chart="checkIns"] details')
  await table.locator('summary').click()
  await expect(table.locator('tbody tr')).toHaveCount(30)
  // The customers chart has the customers gained and lost as series.
  const customers = page.locator('[data-chart="customers"] details')
  await customers.locator('summary').click()
  await expect(customers.locator('thead')).toContainText('新增客户')
  await expect(customers.locator('thead')).toContainText('流失客户')
  await shot(page, 'dashboard')
  await axe(page)
})

test('the dashboard window can be changed to 7 days', async ({ page }) => {
  await loginWithWeCom(page, 'zhangsan')
  await page.locator('.el-radio-button', { hasText: '7 天' }).click()
  await settled(page)
  const table = page.locator('[data-chart="checkIns"] details')
  await table.locator('summary').click()
  await expect(table.locator('tbody tr')).toHaveCount(7)
})
