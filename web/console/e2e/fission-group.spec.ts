// A group fission campaign (进群裂变) against the real local stack: the editor switches from
// staff to groups, refuses a group campaign without groups, and saves one whose inviters'
// codes let friends join the demo groups; the API stores the groups and no staff. Screenshot
// and axe scan of the editor.
import { test, expect, apiOk, loginWithWeCom, shot, axe, stack } from './fixtures'
import { settled } from './console-helpers'

test.describe('group fission campaigns', () => {
  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('a campaign whose friends come in by joining groups', async ({ page }) => {
    const name = `E2E 进群裂变 ${Date.now().toString(36)}`
    await page.goto('/growth/fission-campaigns/new')
    await settled(page)
    await page.getByTestId('fission-name').fill(name)
    await page.getByTestId('fission-background').fill(`${stack.wecomUrl}/_fake/qr/poster-background`)
    await page.getByTestId('fission-joins-group').click()
    await expect(page.getByTestId('fission-userids')).toHaveCount(0)
    // No groups yet: the problem shows and nothing is sent.
    await page.getByTestId('fission-save').click()
    await expect(page.getByTestId('fission-fix-problems')).toBeVisible()
    await expect(page.getByTestId('fission-chat-ids')).toHaveClass(/is-error/)
    await expect(page).toHaveURL(/\/new$/)

    await page.getByTestId('fission-chat-ids').getByTestId('group-select').click()
    for (const chat of ['wrdemo001', 'wrdemo002']) {
      await page.keyboard.type(chat)
      await page.keyboard.press('Enter')
    }
    await page.keyboard.press('Escape')
    await expect(page.getByTestId('fission-fix-problems')).toHaveCount(0)
    await shot(page, 'growth-fission-group-editor')
    await axe(page)

    await page.getByTestId('fission-save').click()
    await expect(page).toHaveURL(/\/growth\/fission-campaigns\/fc[0-9a-f]{16}$/)
    const id = page.url().split('/').pop()!
    await settled(page)
    const stored = await apiOk<{ name: string; userids: string[]; chat_ids?: string[] }>('GET', `/v1/growth/fission-campaigns/${id}`)
    expect(stored).toMatchObject({ name, userids: [], chat_ids: ['wrdemo001', 'wrdemo002'] })

    // Its edit form opens as a group campaign.
    await page.goto(`/growth/fission-campaigns/${id}/edit`)
    await settled(page)
    await expect(page.getByTestId('fission-joins-group').locator('input')).toBeChecked()
    await expect(page.getByTestId('fission-chat-ids')).toContainText('wrdemo001')

    await apiOk('POST', `/v1/growth/fission-campaigns/${id}/end`).catch(() => undefined)
  })
})
