// The points pages against the real local stack: edit the earning rules and save them, award
// points in bulk and see balances change in the accounts list, import a CSV file with bad rows
// and read the per-row report, the rewards catalogue, the jobs list and the daily flows chart.
// Every page is screenshot and scanned with axe.
import { test, expect, apiOk, loginWithWeCom, shot, axe } from './fixtures'
import type { Page } from '@playwright/test'

/** A customer's balance as the API has it (0 before the first ledger entry). */
async function balanceOf(id: string): Promise<number> {
  try {
    return (await apiOk<{ balance: number }>('GET', `/v1/points/customers/${id}`)).balance
  } catch (e) {
    if ((e as { status?: number }).status === 404) return 0
    throw e
  }
}

/** Sets an Element Plus switch to `on`. */
async function setSwitch(page: Page, testid: string, on: boolean) {
  const sw = page.getByTestId(testid)
  const checked = ((await sw.getAttribute('class')) ?? '').includes('is-checked')
  if (checked !== on) await sw.click()
}

async function fillNumber(page: Page, testid: string, value: number) {
  const input = page.getByTestId(testid).locator('input')
  await input.fill(String(value))
  await input.press('Tab')
}

/** Confirms the open confirmation dialog after checking the count it shows. */
async function confirmWithCount(page: Page, count: number) {
  await expect(page.locator('[data-test=confirm-count]:visible')).toContainText(String(count))
  await page.locator('[data-test=confirm-proceed]:visible').click()
}

test.describe('points', () => {
  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('edit the earning rules, preview them and save', async ({ page }) => {
    await page.goto('/points/rules')
    await expect(page.getByTestId('rules-save')).toBeEnabled()
    await setSwitch(page, 'rule-check-in', true)
    await fillNumber(page, 'check-in-base', 5)
    await fillNumber(page, 'streak-days-0', 3)
    await fillNumber(page, 'streak-bonus-0', 10)
    await setSwitch(page, 'rule-newcomer', true)
    await fillNumber(page, 'newcomer-points', 20)
    await page.getByText('首次加入客户群').click()
    await expect(page.getByTestId('streak-paydays')).toContainText('第 3 天 +10')

    await fillNumber(page, 'preview-days', 3)
    await page.getByTestId('preview-run').click()
    // 3 check-ins of 5, the 3-day streak bonus of 10 and the newcomer's 20.
    await expect(page.getByTestId('preview-total')).toContainText('45')
    await shot(page, 'points-rules')
    await axe(page)

    await page.getByTestId('rules-save').click()
    await expect(page.getByText('积分规则已保存')).toBeVisible()
    const stored = await apiOk<{ check_in: { enabled: boolean; base_points: number; streak_tiers: { days: number; bonus: number }[] } }>(
      'GET',
      '/v1/points/rules',
    )
    // The first tier is the one edited; the demo's rules may carry further tiers.
    expect(stored.check_in).toMatchObject({ enabled: true, base_points: 5 })
    expect(stored.check_in.streak_tiers[0]).toEqual({ days: 3, bonus: 10 })

    // A problem is shown beside the form and nothing is sent.
    await fillNumber(page, 'streak-days-1', 3)
    await fillNumber(page, 'streak-bonus-1', 5)
    await page.getByTestId('rules-save').click()
    await expect(page.getByTestId('rules-problems')).toContainText('check_in.streak_tiers[1].days')
  })

  test('award points in bulk and see the balances change in the accounts list', async ({ page }) => {
    const before = await balanceOf('wmdemo001')
    await page.goto('/points/operations')
    await page.getByTestId('bulk-ids').fill('wmdemo001\nwmdemo002, wmdemo001')
    await expect(page.getByTestId('bulk-parsed')).toContainText('2')
    await fillNumber(page, 'bulk-points', 7)
    await page.getByTestId('bulk-reason').fill('e2e bulk award')
    await page.getByTestId('bulk-run').getByRole('button').click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText('14')
    await confirmWithCount(page, 2)
    const report = page.getByTestId('order-report')
    await expect(report.getByText('已入账')).toHaveCount(2)
    await shot(page, 'points-operations-bulk')
    await axe(page)
    expect(await balanceOf('wmdemo001')).toBe(before + 7)

    await page.goto('/points/accounts')
    await page.getByTestId('accounts-search').fill('wmdemo001')
    await page.getByRole('button', { name: '搜索' }).click()
    const row = page.getByTestId('accounts-table').locator('tr', { hasText: 'wmdemo001' })
    await expect(row).toContainText(String(before + 7))
    await shot(page, 'points-accounts-search')
    await page.getByTestId('accounts-search').fill('')
    await page.getByRole('button', { name: '搜索' }).click()
    await expect(page.getByTestId('accounts-table')).toBeVisible()
    // Away from the button just clicked: its hover colour is not what the page shows at rest.
    await page.mouse.move(0, 0)
    await shot(page, 'points-accounts')
    await axe(page)
  })

  test('rank every account and sort the list by earned', async ({ page }) => {
    await page.goto('/points/accounts')
    const table = page.getByTestId('accounts-table')
    await expect(table).toBeVisible()
    await table.locator('th', { hasText: '累计获得' }).click()
    // Without a ranking the page says so; with one, when it was taken: either way it can rank.
    const bar = page.getByTestId('ranking-bar')
    await expect(bar.getByTestId('not-ranked').or(bar.getByTestId('ranked-at'))).toBeVisible()
    await bar.getByTestId('rank-button').click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText('读取每一个积分账户')
    await page.locator('[data-test=confirm-proceed]:visible').click()
    // The job runs in points-jobs; the page follows it and then lists in the ranking's order.
    await expect(bar.getByTestId('ranked-at')).toBeVisible({ timeout: 60_000 })
    await expect(bar.getByTestId('ranking-progress')).toHaveCount(0)
    await expect(table.locator('tbody tr').first()).toBeVisible()
    const earned = (await table.locator('tbody tr td:nth-child(3)').allInnerTexts()).map((v) => Number(v.trim()))
    const known = earned.filter((v) => !Number.isNaN(v))
    expect(known.length).toBeGreaterThan(0)
    expect(known).toEqual([...known].sort((a, b) => b - a))
    const page1 = await apiOk<{ ranked_at?: string; items: { earned: number | null }[] }>('GET', '/v1/points/accounts?sort=earned&order=desc&limit=5')
    expect(page1.ranked_at).toBeTruthy()
    await page.mouse.move(0, 0)
    await shot(page, 'points-accounts-ranked')
    await axe(page)
  })

  test('award the members of a group', async ({ page }) => {
    // The group's customers now (the demo seed's history moves them): each is paid once.
    const group = await apiOk<{ members: { is_customer: boolean; active: boolean }[] }>('GET', '/v1/groups/wrdemo002')
    const customers = group.members.filter((m) => m.is_customer && m.active).length
    expect(customers).toBeGreaterThan(0)
    await page.goto('/points/operations?tab=groups')
    await page.getByTestId('group-select').click()
    await page.keyboard.type('wrdemo002')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')
    await fillNumber(page, 'group-points', 3)
    await page.getByTestId('groups-run').getByRole('button').click()
    // The count is the groups' member count, an upper bound of the customers paid.
    await expect(page.locator('[data-test=confirm-count]:visible')).toBeVisible()
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('order-report').getByText('已入账')).toHaveCount(customers)
    await shot(page, 'points-operations-groups')
  })

  test('import a CSV file with bad rows and read the per-row report', async ({ page }) => {
    const run = Date.now().toString(36)
    const csv = [
      'external_userid,points,ref,reason',
      `wmdemo003,12,e2e-${run}-1,past order`,
      `wmdemo004,abc,e2e-${run}-2,past order`,
      `wmnobody,5,e2e-${run}-3,past order`,
      `wmdemo004,8,e2e-${run}-4,past order`,
    ].join('\n')
    await page.goto('/points/operations?tab=import')
    await page.locator('input[type=file]').setInputFiles({ name: 'orders.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await expect(page.getByTestId('import-preview')).toContainText('4')
    await page.getByTestId('import-run').getByRole('button').click()
    await confirmWithCount(page, 4)
    const report = page.getByTestId('order-report')
    await expect(report.getByText('已入账')).toHaveCount(2)
    await expect(report.getByText('被拒绝')).toHaveCount(2)
    await expect(report).toContainText('bad_number')
    await expect(report).toContainText('unknown_customer')
    await shot(page, 'points-import-report')
    await axe(page)
  })

  test('rewards catalogue: create a reward and change its stock', async ({ page }) => {
    const name = `E2E 奖品 ${Date.now().toString(36)}`
    await page.goto('/points/rewards')
    await page.getByTestId('reward-create').click()
    await page.getByTestId('reward-name').fill(name)
    await fillNumber(page, 'reward-cost', 50)
    await fillNumber(page, 'reward-stock', 5)
    await page.getByTestId('reward-save').click()
    const row = page.getByTestId('rewards-table').locator('tr', { hasText: name })
    await expect(row).toContainText('50')
    await row.getByRole('button', { name: '调整库存' }).click()
    await fillNumber(page, 'stock-delta', 3)
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click()
    await expect(row.locator('td').nth(2)).toHaveText('8')
    await shot(page, 'points-rewards')
    await axe(page)
  })

  test('jobs list', async ({ page }) => {
    await page.goto('/points/jobs')
    await expect(page.getByTestId('jobs-table').or(page.locator('[data-state=empty]'))).toBeVisible()
    await shot(page, 'points-jobs')
    await axe(page)
  })

  test('the daily points chart renders', async ({ page }) => {
    await page.goto('/points/stats')
    // Charts draw when they come near the viewport.
    await page.getByTestId('points-chart').scrollIntoViewIfNeeded()
    const chart = page.getByTestId('points-chart').locator('[data-test=echart] canvas')
    await expect(chart).toBeVisible()
    const size = await chart.boundingBox()
    expect(size?.width ?? 0).toBeGreaterThan(100)
    await expect(page.getByTestId('rates-table').or(page.locator('[data-state=empty]').last())).toBeVisible()
    await shot(page, 'points-stats')
    await axe(page)
  })
})
