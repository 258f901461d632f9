import { test, expect, axe, shot, loginWithWeCom } from './fixtures'
import { expectChartDrawn, settled } from './console-helpers'

test('the dashboard shows today against yesterday and draws its four charts', async ({ page }) => {
  await loginWithWeCom(page, 'zhangsan')
  await page.goto('/dashboard')
  await settled(page)
  await expect(page.locator('[data-test="stat-card"]')).toHaveCount(9)
  for (const chart of ['customers', 'checkIns', 'points', 'sop']) {
    await expectChartDrawn(page.locator(`[data-chart="${chart}"]`))
  }
  // Every chart has its numbers as a table too.
  const table = page.locator('[data-chart="checkIns"] details')
  await table.locator('summary').click()
  await expect(table.locator('tbody tr')).toHaveCount(30)
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
