import { test, expect, apiOk, axe, shot, stack, loginWithWeCom, loginWithKey } from './fixtures'
import { settled } from './console-helpers'

test.describe('login', () => {
  test('the login page offers WeCom scan login and an API-key tab', async ({ page }) => {
    await page.goto('/login')
    await expect(page.getByTestId('login-wecom')).toBeVisible()
    await shot(page, 'login-wecom')
    await axe(page)
    await page.getByTestId('login-tab-key').click()
    await expect(page.getByTestId('login-key-input')).toBeVisible()
    await shot(page, 'login-key')
    await axe(page)
  })

  test('a member with a role logs in by scanning and sees who they are in the header', async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
    await expect(page).toHaveURL(/\/dashboard$/)
    await expect(page.locator('[data-test="member-name"]')).toHaveText('张三')
    await expect(page.locator('[data-test="member-role"]')).toHaveText('管理员')
    await expect(page.locator('[data-test="tenant-name"]')).not.toBeEmpty()
    // The corp id is remembered for the next login.
    await page.locator('[data-test="logout"]').click()
    await expect(page).toHaveURL(/\/login/)
    await expect(page.getByTestId('login-corp-id')).toHaveValue(stack.corpId)
  })

  test('a member without a role is told so, by name, and is not let in', async ({ page }) => {
    await page.goto('/login')
    await page.getByTestId('login-corp-id').fill(stack.corpId)
    await page.getByTestId('login-wecom').click()
    await page.waitForURL((url) => url.pathname.startsWith('/wwlogin/sso/login'))
    await page.locator('[data-userid="zhaoliu"]').first().click()
    const noRole = page.getByTestId('login-no-role')
    await expect(noRole).toBeVisible()
    await expect(noRole).toContainText('尚未分配角色')
    await shot(page, 'login-no-role')
    await axe(page)
    await page.goto('/dashboard')
    await expect(page).toHaveURL(/\/login/)
  })

  test('a departed member cannot log in', async ({ page }) => {
    // wangwu has left the corp. The demo's first re-sync met him only as a group owner; the
    // next one checks every member it knows with WeCom and records the departure (as WeCom's
    // contact-change callback would).
    const { job } = await apiOk<{ job: { job_id: string } }>('POST', '/v1/directory/resync')
    await expect
      .poll(async () => (await apiOk<{ status: string }>('GET', `/v1/directory/resync/${job.job_id}`)).status, {
        message: 'the re-sync ends',
        timeout: 60_000,
      })
      .toBe('done')
    const members = await apiOk<{ members: { userid: string; status?: string | null }[] }>('GET', '/v1/console/members?q=wangwu')
    expect(members.members.find((m) => m.userid === 'wangwu')?.status).toBe('departed')
    await page.goto('/login')
    await page.getByTestId('login-corp-id').fill(stack.corpId)
    await page.getByTestId('login-wecom').click()
    await page.waitForURL((url) => url.pathname.startsWith('/wwlogin/sso/login'))
    // wangwu left the corp (the directory re-sync recorded it); WeCom still answers the scan
    // with the userid, and the API refuses the session.
    await page.locator('a.departed[data-userid="wangwu"]').click()
    const refused = page.getByTestId('login-callback-failed')
    await expect(refused).toBeVisible()
    await expect(refused).toContainText('你已从该企业离职，无法登录。')
    // The API's own message, under the console's.
    await expect(refused).toContainText('this member has left the corp')
    await shot(page, 'login-refused')
    await axe(page)
    await page.goto('/dashboard')
    await expect(page).toHaveURL(/\/login/)
  })

  test('a corp id that is no tenant gets a clear answer', async ({ page }) => {
    await page.goto('/login')
    await page.getByTestId('login-corp-id').fill('wwnotatenant0001')
    await page.getByTestId('login-wecom').click()
    await expect(page.getByTestId('login-error')).toBeVisible()
    await expect(page).toHaveURL(/\/login/)
  })

  test('a wrong API key shows the API message', async ({ page }) => {
    await page.goto('/login')
    await page.getByTestId('login-tab-key').click()
    await page.getByTestId('login-key-input').fill(`scrm_${stack.corpId}_${'0'.repeat(64)}`)
    await page.getByTestId('login-key-submit').click()
    await expect(page.getByTestId('login-error')).toBeVisible()
    await expect(page).toHaveURL(/\/login/)
  })

  test('an ended session sends the operator back to the login page, saying why, then back where they were', async ({ page }) => {
    await loginWithKey(page)
    // Every request of the page is answered before the session is revoked: one answered
    // after it would be refused, and the page would end the session itself (storage cleared,
    // on to the login page) before the reload, which would then find no session to say
    // anything about.
    const answered = ['/v1/tenant', '/v1/customers'].map((path) =>
      page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(path)),
    )
    await page.goto('/customers')
    await Promise.all(answered)
    await expect(page.locator('[data-test="customer-table"]')).toBeVisible()
    await settled(page)
    // The session is revoked elsewhere (another tab logged out).
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('scrm.console.session') ?? '{}').token as string)
    const res = await page.request.delete('/admin-api/v1/console/session', { headers: { Authorization: `Bearer ${token}` } })
    expect(res.ok()).toBe(true)
    // After the reload, the page's customer list is answered only once the operator has
    // logged in again (a busy API): that late refusal is about the revoked session and must
    // leave the new one alone (it used to end it, sending the operator back to the login page).
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let held = false
    await page.route((url) => url.pathname.endsWith('/v1/customers'), async (route) => {
      if (held) return route.continue()
      held = true
      await released
      await route.continue()
    })
    await page.reload()
    await expect(page).toHaveURL(/\/login\?redirect=/)
    await expect(page.getByTestId('login-notice')).toBeVisible()
    await shot(page, 'login-expired')
    await page.getByTestId('login-tab-key').click()
    await page.getByTestId('login-key-input').fill(stack.adminKey)
    await page.getByTestId('login-key-submit').click()
    await expect(page).toHaveURL(/\/customers$/)
    await expect(page.locator('[data-test="customer-table"]')).toBeVisible()
    const lateRefusal = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/v1/customers') && r.status() === 401)
    release()
    await lateRefusal
    await expect(page.locator('[data-test="customer-table"]')).toBeVisible()
    await expect(page).toHaveURL(/\/customers$/)
    expect(await page.evaluate(() => localStorage.getItem('scrm.console.session'))).not.toBeNull()
  })

  test('the language switch turns the console into English and back', async ({ page }) => {
    await loginWithWeCom(page, 'lisi')
    await expect(page.locator('h1')).toHaveText('数据概览')
    await page.locator('[data-test="locale-switch"]').click()
    await page.getByRole('option', { name: 'English' }).click()
    await expect(page.locator('h1')).toHaveText('Dashboard')
    await expect(page.locator('[data-test="member-role"]')).toHaveText('Operator')
    await shot(page, 'dashboard-en')
    await page.locator('[data-test="locale-switch"]').click()
    await page.getByRole('option', { name: '中文' }).click()
    await expect(page.locator('h1')).toHaveText('数据概览')
  })

  test('an operator does not see the admin pages in the menu and gets no access there', async ({ page }) => {
    await loginWithWeCom(page, 'lisi')
    await expect(page.getByRole('menuitem', { name: 'API 密钥' })).toHaveCount(0)
    await page.goto('/settings/keys')
    await expect(page).toHaveURL(/\/no-access/)
    await shot(page, 'no-access')
    await axe(page)
  })
})
