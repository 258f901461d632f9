import { test, expect, axe, shot, stack } from './fixtures'

test('the console serves its runtime configuration', async ({ request }) => {
  const res = await request.get('/config.json')
  expect(res.ok()).toBe(true)
  expect((await res.json()).adminApiBase).toBeTruthy()
})

test('the admin API answers through the console origin', async ({ request }) => {
  // The same path the pages use: the preview server's proxy to the functions.
  const res = await request.get('/admin-api/v1/whoami', { headers: { Authorization: `Bearer ${stack.adminKey}` } })
  expect(res.status()).toBe(200)
})

test('the login page renders and passes the accessibility scan', async ({ page }) => {
  await page.goto('/login')
  await expect(page.locator('#app')).not.toBeEmpty()
  await expect(page.getByTestId('login-wecom')).toBeVisible()
  await shot(page, 'login')
  await axe(page)
})

test('an unknown path of the console falls back to the app, which asks to log in', async ({ page }) => {
  await page.goto('/no/such/page')
  await expect(page).toHaveURL(/\/login/)
})
