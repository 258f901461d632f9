import { test, expect, axe, shot, api, apiOk, loginWithWeCom } from './fixtures'
import { settled } from './console-helpers'

test.describe('settings', () => {
  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('tenant settings save and secrets are never shown', async ({ page }) => {
    await page.goto('/settings/tenant')
    await settled(page)
    const secrets = page.locator('[data-test="tenant-secrets"]')
    await expect(secrets).toContainText('已配置')
    const before = (await api.GET('/v1/tenant')).data!
    const wanted = !before.settings?.create_wecom_moment_tasks
    const linkOAuth = !(before.settings?.link_visitor_oauth ?? true)
    await page.locator('.el-switch', { has: page.getByRole('switch', { name: '在企业微信中创建朋友圈任务' }) }).click()
    await page.locator('.el-switch', { has: page.getByRole('switch', { name: '通过公众号识别追踪链接的访客' }) }).click()
    await page.locator('[data-test="tenant-save"]').click()
    await expect(page.getByText('设置已保存')).toBeVisible()
    await expect.poll(async () => (await api.GET('/v1/tenant')).data!.settings?.create_wecom_moment_tasks).toBe(wanted)
    await expect.poll(async () => (await api.GET('/v1/tenant')).data!.settings?.link_visitor_oauth).toBe(linkOAuth)
    // The page shows what was saved.
    await expect(page.getByRole('switch', { name: '通过公众号识别追踪链接的访客' })).toHaveAttribute('aria-checked', String(linkOAuth))
    await expect(page.getByRole('switch', { name: '在企业微信中创建朋友圈任务' })).toHaveAttribute('aria-checked', String(wanted))
    await shot(page, 'settings-tenant')
    await axe(page)
    // Put it back for the other specs.
    await api.PUT('/v1/tenant/settings', { body: { ...before.settings } })
  })

  test('a WeCom secret is replaced after a confirmation and only whether it is set is shown', async ({ page }) => {
    const rotated = `e2e-app-secret-${Date.now()}`
    await page.goto('/settings/tenant')
    await settled(page)
    await expect(page.locator('[data-test="secret-status-app_secret"]')).toContainText('已配置')
    const input = page.locator('input[data-test="secret-input-app_secret"], [data-test="secret-input-app_secret"] input')
    await expect(input).toHaveValue('')
    await expect(input).toHaveAttribute('type', 'password')
    try {
      await input.fill(rotated)
      await page.locator('[data-test="secrets-replace"]').click()
      await expect(page.locator('[data-test="confirm-message"]')).toContainText('自建应用 Secret')
      await page.locator('[data-test="confirm-proceed"]').click()
      await expect(page.getByText('密钥已更换')).toBeVisible()
      await expect(input).toHaveValue('')
      await expect(page.locator('[data-test="secrets-updated-at"]')).toContainText('最近一次在控制台更换')
      await expect(page.locator('[data-test="secret-status-app_secret"]')).toContainText('已配置')
      const status = await apiOk<Record<string, unknown>>('GET', '/v1/tenant/secrets')
      expect(status.app_secret).toBe(true)
      expect(JSON.stringify(status)).not.toContain(rotated)
      await shot(page, 'settings-secrets')
      await axe(page)
    } finally {
      // The demo tenant's real app secret (scripts/lib.sh): the other specs log in with it.
      await apiOk('PUT', '/v1/tenant/secrets', { app_secret: 'demo-app-secret' })
    }
  })

  test('an API key is shown once at creation, then revoked after a confirmation', async ({ page }) => {
    await page.goto('/settings/keys')
    await settled(page)
    await page.locator('[data-test="key-create"]').click()
    const name = `e2e key ${Date.now()}`
    await page.locator('input[data-test="key-name"], [data-test="key-name"] input').fill(name)
    await page.locator('.el-radio', { hasText: '只读所有数据' }).click()
    await page.locator('[data-test="key-create-submit"]').click()
    const key = page.locator('input[data-test="key-value"], [data-test="key-value"] input')
    await expect(key).toHaveValue(/^scrm_/)
    await shot(page, 'settings-key-created')
    await page.locator('[data-test="key-revealed-done"]').click()
    const row = page.locator('[data-test="key-table"] .el-table__body tr', { hasText: name })
    await expect(row).toBeVisible()
    await shot(page, 'settings-keys')
    await axe(page)
    await row.locator('[data-test="confirm-trigger"]').click()
    await expect(page.locator('[data-test="confirm-message"]')).toContainText(name)
    await page.locator('[data-test="confirm-proceed"]').click()
    await expect(row).toHaveCount(0)
    const keys = await apiOk<{ keys: { name: string; revoked: boolean }[] }>('GET', '/v1/keys')
    expect(keys.keys.find((k) => k.name === name)?.revoked).toBe(true)
  })

  test('members get a role and lose it after a confirmation', async ({ page }) => {
    await page.goto('/settings/members')
    await settled(page)
    await expect(page.locator('[data-test="member-table"]')).toContainText('zhangsan')
    await shot(page, 'settings-members')
    await axe(page)
    await page.locator('input[data-test="grant-userid"], [data-test="grant-userid"] input').fill('zhaoliu')
    await page.locator('[data-test="grant-submit"]').click()
    const row = page.locator('[data-test="member-table"] .el-table__body tr', { hasText: 'zhaoliu' })
    await expect(row.locator('[data-test="confirm-trigger"]')).toBeVisible()
    await row.locator('[data-test="confirm-trigger"]').click()
    await page.locator('[data-test="confirm-proceed"]').click()
    await expect(row.locator('[data-test="confirm-trigger"]')).toHaveCount(0)
    const members = await apiOk<{ members: { userid: string; role: string | null }[] }>('GET', '/v1/console/members?q=zhaoliu')
    expect(members.members.find((m) => m.userid === 'zhaoliu')?.role ?? null).toBeNull()
  })

  test('callbacks list with the unknown-events filter', async ({ page }) => {
    await page.goto('/settings/callbacks')
    await settled(page)
    await shot(page, 'settings-callbacks')
    await axe(page)
    await page.locator('[data-test="unknown-only"]').click()
    await settled(page)
    await expect(page.locator('[data-test="callback-table"]').or(page.locator('[data-state="empty"]'))).toBeVisible()
  })

  test('a directory re-sync starts after a confirmation and shows its progress until done', async ({ page }) => {
    await page.goto('/settings/resync')
    await settled(page)
    await page.locator('[data-test="resync-start"]').click()
    await page.locator('[data-test="confirm-proceed"]').click()
    const current = page.locator('[data-test="resync-current"]')
    await expect(current).toBeVisible()
    await expect(current.locator('[role="status"]')).toHaveAttribute('data-state', /^(done|failed)$/, { timeout: 45_000 })
    await expect(current.locator('[role="status"]')).toHaveAttribute('data-state', 'done')
    await shot(page, 'settings-resync')
    await axe(page)
  })
})
