// The tracked links page against the real local stack: an operator creates a link from the
// console (a bad address first shows the problem and creates nothing), the list shows its
// short URL; the browser follows the short URL (link-redirect answers 302 to the target)
// and the link's click count goes up on the list, its distinct visitors once per browser
// (the visitor cookie), with the per-day chart; the link's own page, opened from the list,
// shows its target, its short URLs (a staff member's own one minted there) and its figures.
// Every page is screenshot and scanned with axe.
import { test, expect, loginWithWeCom, shot, axe, stack } from './fixtures'
import { settled } from './console-helpers'

test.describe.configure({ mode: 'serial' })

test.describe('tracked links', () => {
  const title = `E2E 大促 ${Date.now().toString(36)}`

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('create a link, follow its short URL, see the click counted', async ({ page }) => {
    await page.goto('/growth/links')
    await settled(page)
    await shot(page, 'links-before')
    await axe(page)

    await page.getByTestId('link-create').click()
    await page.getByTestId('link-url').fill('javascript:alert(1)')
    await page.getByTestId('link-submit').click()
    await expect(page.getByText('请输入 http 或 https 开头的地址')).toBeVisible()

    // The target is the console itself: the browser can load it wherever the test runs.
    const target = `${stack.consoleUrl}/growth/links?from=short-url`
    await page.getByTestId('link-url').fill(target)
    await page.getByTestId('link-title').fill(title)
    await page.getByTestId('link-submit').click()
    const row = page.getByTestId('links-table').locator('tr', { hasText: title })
    await expect(row).toBeVisible()
    await expect(row.getByTestId('link-clicks')).toHaveText('0')
    await settled(page)
    await shot(page, 'links-created')
    await axe(page)

    const short = (await row.getByTestId('link-short').innerText()).trim()
    expect(short).toMatch(/\/l\/[0-9A-Za-z]{10}$/)
    const shortUrl = short.startsWith('http') ? short : `${stack.lambdaUrl}/lambda-url/link-redirect${short}`
    // The redirect itself, as a browser gets it.
    const res = await fetch(shortUrl, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(target)
    // The browser follows it to the target, twice: the second time with its visitor cookie.
    await page.goto(shortUrl)
    await expect(page).toHaveURL(/from=short-url/)
    await page.goto(shortUrl)
    await expect(page).toHaveURL(/from=short-url/)

    // Three clicks so far (the fetch and two visits) by two visitors: the list shows them.
    await page.goto('/growth/links')
    const counts = async () => {
      const r = page.getByTestId('links-table').locator('tr', { hasText: title })
      return `${(await r.getByTestId('link-clicks').innerText()).trim()}/${(await r.getByTestId('link-visitors').innerText()).trim()}`
    }
    await expect
      .poll(
        async () => {
          await page.reload()
          await settled(page)
          return counts()
        },
        { timeout: 20_000 },
      )
      .toBe('3/2')
    const daily = page.locator('[data-chart="link-days"]')
    await expect(daily).toBeVisible()
    await expect(daily).toContainText('每日点击与访客')
    await shot(page, 'links-clicked')
    await axe(page)
  })

  test('open a link from the list: its target, short URLs and figures', async ({ page }) => {
    await page.goto('/growth/links')
    await settled(page)
    const row = page.getByTestId('links-table').locator('tr', { hasText: title })
    const short = (await row.getByTestId('link-short').innerText()).trim()
    await row.getByTestId('link-open').click()
    await expect(page).toHaveURL(/\/growth\/links\/l[ku][0-9a-f]{16}$/)
    await settled(page)
    await expect(page.getByTestId('link-detail-title')).toHaveText(title)
    await expect(page.getByTestId('link-target')).toHaveText(`${stack.consoleUrl}/growth/links?from=short-url`)
    await expect(page.getByTestId('link-code-short')).toHaveText([short])
    await expect(page.getByTestId('link-total-clicks')).toContainText('3')
    await expect(page.getByTestId('link-total-visitors')).toContainText('2')
    await expect(page.locator('[data-chart="link-detail-days"]')).toBeVisible()

    // A staff member's own short URL, listed under the general one.
    await page.getByTestId('link-mint-staff').fill('zhangsan')
    await page.getByTestId('link-mint').click()
    await expect(page.getByTestId('link-code-short')).toHaveCount(2)
    await expect(page.getByTestId('link-code-for').nth(1)).toContainText('zhangsan')
    const own = (await page.getByTestId('link-code-short').nth(1).innerText()).trim()
    expect(own).toMatch(/\/l\/[0-9A-Za-z]{10}$/)
    expect(own).not.toBe(short)
    await shot(page, 'link-detail')
    await axe(page)
  })
})
