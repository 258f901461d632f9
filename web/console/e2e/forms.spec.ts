// The smart form pages against the real local stack: an operator builds a form (text,
// mobile and choice fields, one filling the customer's name), saving an empty one first
// shows the problems; publishes it from the list (asked first); a customer submits through
// the customer API with their token (a refused answer first, which writes nothing); the
// list counts the submission, the submissions page shows the answer by its label, and the
// CSV download holds it. Every page is screenshot and scanned with axe.
import { test, expect, apiOk, loginWithWeCom, shot, axe, stack } from './fixtures'
import { settled } from './console-helpers'

test.describe.configure({ mode: 'serial' })

const customerApi = stack.adminApiUrl.replace(/admin-api\/?$/, 'customer-api')

async function customerCall(token: string, method: string, path: string, body?: unknown, key?: string) {
  const res = await fetch(`${customerApi}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key ? { 'Idempotency-Key': key } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, any> | null }
}

test.describe('smart forms', () => {
  const title = `E2E 到店调查 ${Date.now().toString(36)}`
  let formId = ''

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('build a form and publish it', async ({ page }) => {
    await page.goto('/growth/forms')
    await settled(page)
    await shot(page, 'forms-before')
    await axe(page)
    await page.getByTestId('form-create').click()
    await expect(page).toHaveURL(/\/growth\/forms\/new$/)
    await settled(page)

    // Saving an empty form shows the problems and sends nothing.
    await page.getByTestId('form-save').click()
    await expect(page.getByTestId('form-save-error')).toBeVisible()

    await page.getByTestId('form-title').fill(title)
    await page.getByTestId('form-description').fill('填写即送积分')
    const fields = page.getByTestId('form-field')
    await fields.nth(0).getByTestId('field-label').fill('姓名')
    await fields.nth(0).getByTestId('field-required').click()
    await fields.nth(0).getByTestId('field-profile').click()
    await page.getByRole('option', { name: '姓名', exact: true }).click()

    await page.getByTestId('form-new-kind').click()
    await page.getByRole('option', { name: '手机号', exact: true }).click()
    await page.getByTestId('form-add-field').click()
    await fields.nth(1).getByTestId('field-label').fill('手机')

    await page.getByTestId('form-new-kind').click()
    await page.getByRole('option', { name: '单选', exact: true }).click()
    await page.getByTestId('form-add-field').click()
    await fields.nth(2).getByTestId('field-label').fill('常去门店')
    await fields.nth(2).getByTestId('option-label').nth(0).fill('人民广场店')
    await fields.nth(2).getByTestId('option-label').nth(1).fill('徐家汇店')
    await page.getByTestId('form-remark').fill('{f3}-{f1}')
    // Fixed: the problems' notice is gone.
    await expect(page.getByTestId('form-save-error')).toHaveCount(0)
    await shot(page, 'form-editor')
    await axe(page)

    await page.getByTestId('form-save').click()
    await expect(page).toHaveURL(/\/growth\/forms$/)
    await settled(page)
    const row = page.getByTestId('forms-table').locator('tr', { hasText: title })
    await expect(row.getByTestId('form-status')).toContainText('草稿')
    formId = (await row.getByTestId('form-link').innerText()).split('forms/').pop()!.trim()
    expect(formId).toMatch(/^fm[0-9a-f]{16}$/)

    await row.getByRole('button', { name: '发布' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(title)
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('form-status')).toContainText('已发布')
    await shot(page, 'forms')
    await axe(page)
  })

  test('a customer submits; the list counts it and the submissions show and export it', async ({ page }) => {
    expect(formId).not.toBe('')
    const session = await apiOk<{ token: string }>('POST', '/v1/customer-sessions', { external_userid: 'wmdemo001' })
    const form = await customerCall(session.token, 'GET', `/v1/forms/${formId}`)
    expect(form.status).toBe(200)
    const options = form.body!.form.fields[2].options as { value: string; label: string }[]
    const xujiahui = options.find((o) => o.label === '徐家汇店')!.value

    // A refused answer writes nothing.
    const bad = await customerCall(session.token, 'POST', `/v1/forms/${formId}/submissions`, { answers: { f1: '小明', f2: '123' } }, `e2e-bad-${formId}`)
    expect(bad.status).toBe(400)
    expect(bad.body!.error.code).toBe('invalid_answers')
    const ok = await customerCall(
      session.token,
      'POST',
      `/v1/forms/${formId}/submissions`,
      { answers: { f1: '小明', f2: '13800138000', f3: xujiahui } },
      `e2e-ok-${formId}`,
    )
    expect(ok.status).toBe(201)

    await page.goto('/growth/forms')
    await settled(page)
    const row = page.getByTestId('forms-table').locator('tr', { hasText: title })
    await expect(row.getByTestId('form-submissions')).toHaveText('1')
    await row.getByRole('button', { name: '提交记录' }).click()
    await expect(page).toHaveURL(new RegExp(`/growth/forms/${formId}/submissions$`))
    await settled(page)
    const table = page.getByTestId('form-subs-table')
    await expect(table).toContainText('wmdemo001')
    await expect(table).toContainText('徐家汇店')
    await expect(table).toContainText('13800138000')
    await shot(page, 'form-submissions')
    await axe(page)

    const download = page.waitForEvent('download')
    await page.getByTestId('form-export').click()
    const file = await download
    const path = await file.path()
    const { readFileSync } = await import('node:fs')
    const csv = readFileSync(path!, 'utf8')
    expect(csv.charCodeAt(0)).toBe(0xfeff)
    expect(csv).toContain('姓名,手机,常去门店')
    expect(csv).toContain('13800138000,徐家汇店')
  })
})
