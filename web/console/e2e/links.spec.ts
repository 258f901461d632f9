// The tracked links page against the real local stack: an operator creates a link from the
// console (a bad address first shows the problem and creates nothing), the list shows its
// short URL; the browser follows the short URL (link-redirect answers 302 to the target)
// and the link's click count goes up on the list. Every page is screenshot and scanned with axe.
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
    // The browser follows it to the target.
    await page.goto(shortUrl)
    await expect(page).toHaveURL(/from=short-url/)

    // Two clicks so far (the fetch and the visit): the list shows them.
    await page.goto('/growth/links')
    await expect
      .poll(
        async () => {
          await page.reload()
          await settled(page)
          return (await page.getByTestId('links-table').locator('tr', { hasText: title }).getByTestId('link-clicks').innerText()).trim()
        },
        { timeout: 20_000 },
      )
      .toBe('2')
    await shot(page, 'links-clicked')
  })
})
