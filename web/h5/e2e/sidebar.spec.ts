// The customer sidebar against the real local stack: zhangsan signs in through WeCom's
// in-app login (the fake's page), opens the sidebar of a customer he follows (outside
// WeCom the customer is named in the query, as in development; in a chat's toolbar WeCom
// names them), sees the profile the directory, the tag mirror and the ledger hold, adds a
// tag (WeCom's mark_tag through staff-api, then the stored copy: a reload shows it) and
// takes it off again. Then a group's sidebar. Every page is screenshot and scanned.
import type { Page } from '@playwright/test'
import { test, expect, shot, axe, stack } from './fixtures'

// The demo corp's customer zhangsan follows, with the corp tags 女 and 回复过.
const CUSTOMER = 'wmdemo002'
const GROUP = 'wrdemo001'
// The demo corp's self-built app (scripts/lib.sh).
const AGENT_ID = process.env.SCRM_AGENT_ID ?? '1000002'

async function signIn(page: Page, userid: string): Promise<void> {
  await page.goto(`/?app=staff&corp_id=${stack.corpId}&agent_id=${AGENT_ID}`)
  await expect(page).toHaveURL(/\/connect\/oauth2\/authorize\?/)
  await page.locator(`a[data-userid="${userid}"]`).click()
  await expect(page).toHaveURL(/#\/staff\/tasks/)
}

test.describe.configure({ mode: 'serial' })

test.describe('customer sidebar', () => {
  test("a follow user sees the customer's profile and edits their tags", async ({ page }) => {
    await signIn(page, 'zhangsan')
    await page.goto(`/#/staff/sidebar?external_userid=${CUSTOMER}`)
    const profile = page.getByTestId('sidebar-profile')
    await expect(profile).toContainText('小红')
    const tags = page.getByTestId('sidebar-tags')
    await expect(tags).toContainText('女')
    await expect(tags).toContainText('回复过')
    await expect(page.getByTestId('sidebar-points')).toBeVisible()
    await shot(page, 'staff-sidebar-customer')
    await axe(page)

    // Add a tag from the corp's library.
    await page.getByTestId('edit-tags').click()
    const editor = page.locator('.van-popup')
    await expect(editor).toBeVisible()
    await editor.getByRole('checkbox', { name: '核心' }).click()
    await shot(page, 'staff-sidebar-edit-tags')
    await axe(page)
    await page.getByTestId('save-tags').click()
    await expect(tags).toContainText('核心')
    // Stored, not only shown: the page read again shows it.
    await page.reload()
    await expect(page.getByTestId('sidebar-tags')).toContainText('核心')

    // And off again, from the tag itself.
    await page.getByTestId('sidebar-tags').locator('.van-tag', { hasText: '核心' }).locator('.van-tag__close').click()
    await expect(page.getByTestId('sidebar-tags')).not.toContainText('核心')
    await page.reload()
    await expect(page.getByTestId('sidebar-tags')).toContainText('女')
    await expect(page.getByTestId('sidebar-tags')).not.toContainText('核心')
  })

  test("a group's sidebar shows its members and today's check-ins", async ({ page }) => {
    await signIn(page, 'zhangsan')
    await page.goto(`/#/staff/sidebar?chat_id=${GROUP}`)
    await expect(page.getByTestId('sidebar-profile')).toBeVisible()
    await expect(page.getByTestId('sidebar-check-ins')).toBeVisible()
    await shot(page, 'staff-sidebar-group')
    await axe(page)
  })

  test('a customer the corp does not know says so', async ({ page }) => {
    await signIn(page, 'zhangsan')
    await page.goto('/#/staff/sidebar?external_userid=wmnosuchcustomer')
    await expect(page.locator('[data-state=error]')).toContainText('wmnosuchcustomer')
    await shot(page, 'staff-sidebar-unknown')
  })
})
