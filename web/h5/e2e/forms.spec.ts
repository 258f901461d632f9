// The customer's smart form page (智能表单) against the real local stack: a customer opens
// the form's entry link, logs in through the fake official account and lands on the form
// drawn from its definition; submitting it empty marks the required fields, a wrong mobile
// is marked beside its field, nothing is sent until all is right; the submit shows the
// submitted state and the operators' API has the answers; coming back shows them again to
// edit; a closed form says so. Every page is screenshot and scanned.
import type { Browser, Page } from '@playwright/test'
import { test, expect, apiOk, shot, axe, stack, WECHAT_UA } from './fixtures'

/** The fake official account's demo WeChat user who is the demo corp's customer wmdemo002. */
const XIAOHONG = 'openid-wmdemo002'

interface Form {
  form_id: string
  version: number
  status: string
}

async function publishedForm(title: string, key: string): Promise<Form> {
  const form = await apiOk<Form>(
    'POST',
    '/v1/growth/forms',
    {
      title,
      description: '填写即可参与抽奖',
      fields: [
        { id: 'name', label: '姓名', kind: 'short_text', required: true },
        { id: 'phone', label: '手机号', kind: 'mobile', required: true },
        {
          id: 'store',
          label: '常去门店',
          kind: 'single_choice',
          required: true,
          options: [
            { value: 'rmgc', label: '人民广场店' },
            { value: 'xjh', label: '徐家汇店' },
          ],
        },
        {
          id: 'like',
          label: '喜欢的饮品',
          kind: 'multiple_choice',
          max: 2,
          options: [
            { value: 'tea', label: '茶' },
            { value: 'coffee', label: '咖啡' },
            { value: 'juice', label: '果汁' },
          ],
        },
        { id: 'note', label: '建议', kind: 'long_text', max_length: 200 },
      ],
    },
    { 'Idempotency-Key': `h5-e2e-form-${key}` },
  )
  return apiOk<Form>('POST', `/v1/growth/forms/${form.form_id}/status`, { version: form.version, status: 'published' })
}

/** A phone with WeChat's browser opening the form's entry link, logged in as `openid`. */
async function openForm(browser: Browser, formId: string, openid: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: WECHAT_UA,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    baseURL: stack.h5Url,
  })
  const page = await context.newPage()
  await page.goto(`/?corp_id=${stack.corpId}&page=forms/${formId}`)
  await page.waitForURL((url) => url.pathname.includes('/connect/oauth2/authorize'))
  await page.locator(`[data-openid="${openid}"]`).first().click()
  const consent = () => {
    const url = new URL(page.url())
    return url.pathname.includes('/connect/oauth2/authorize') && url.searchParams.get('scope') === 'snsapi_userinfo'
  }
  await expect.poll(() => consent() || new URL(page.url()).hash.startsWith('#/c/forms/'), { timeout: 15_000 }).toBe(true)
  if (consent()) await page.locator(`[data-openid="${openid}"]`).first().click()
  await page.waitForURL((url) => url.hash === `#/c/forms/${formId}`)
  await expect(page.locator('[data-state=loading]')).toHaveCount(0)
  return page
}

const field = (page: Page, id: string) => page.locator(`[data-field="${id}"]`)

test.describe('the smart form page', () => {
  test.describe.configure({ mode: 'serial' })
  const suffix = Date.now().toString(36)
  const title = `E2E 门店调查 ${suffix}`
  let form: Form

  test.beforeAll(async () => {
    // The demo tenant's official account: the fake WeChat server's demo account.
    await apiOk('PUT', '/v1/tenant/official-account', { app_id: 'wxdemoofficial0001', secret: 'demoofficialsecret00000000000001' })
    form = await publishedForm(title, suffix)
  })

  test('fill the form: problems marked first, then submitted', async ({ browser }) => {
    const page = await openForm(browser, form.form_id, XIAOHONG)
    await expect(page.locator('h1')).toHaveText(title)
    await expect(page.locator('[data-field]')).toHaveCount(5)
    await shot(page, 'form')
    await axe(page)

    // Empty: every required field is marked, nothing is sent.
    await page.getByTestId('form-submit').click()
    await expect(field(page, 'name')).toContainText('请填写此项')
    await expect(field(page, 'phone')).toContainText('请填写此项')
    await expect(field(page, 'store')).toContainText('请填写此项')
    await expect(field(page, 'like')).not.toContainText('请填写此项')
    const before = await apiOk<{ items: unknown[] }>('GET', `/v1/growth/forms/${form.form_id}/submissions`)
    expect(before.items).toHaveLength(0)

    await field(page, 'name').locator('input').fill('小红')
    await field(page, 'phone').locator('input').fill('1380013')
    await field(page, 'store').getByText('徐家汇店').click()
    await field(page, 'like').getByText('茶').click()
    await field(page, 'like').getByText('咖啡').click()
    await field(page, 'note').locator('textarea').fill('希望多些座位')
    await expect(field(page, 'name')).not.toContainText('请填写此项')
    await expect(field(page, 'phone')).toContainText('请输入 11 位手机号')
    await shot(page, 'form-problems')
    await axe(page)
    await field(page, 'phone').locator('input').fill('13800138002')
    await expect(field(page, 'phone')).not.toContainText('请输入 11 位手机号')

    await page.getByTestId('form-submit').click()
    await expect(page.getByTestId('form-done')).toBeVisible({ timeout: 15_000 })
    // The earlier "fix the fields" notice goes with the saved answers.
    await expect(page.locator('.van-toast')).toBeHidden()
    await shot(page, 'form-done')
    await axe(page)

    const after = await apiOk<{ items: { external_userid: string; answers: Record<string, unknown> }[] }>('GET', `/v1/growth/forms/${form.form_id}/submissions`)
    expect(after.items).toHaveLength(1)
    expect(after.items[0].external_userid).toBe('wmdemo002')
    expect(after.items[0].answers).toEqual({ name: '小红', phone: '13800138002', store: 'xjh', like: ['tea', 'coffee'], note: '希望多些座位' })

    // Back later: the answers are there to change.
    await page.reload()
    await expect(page.getByTestId('form-submitted-before')).toBeVisible()
    await expect(field(page, 'name').locator('input')).toHaveValue('小红')
    await expect(page.getByTestId('form-submit')).toContainText('重新提交')
  })

  test('a closed form says so', async ({ browser }) => {
    await apiOk('POST', `/v1/growth/forms/${form.form_id}/status`, { version: form.version, status: 'closed' })
    const page = await openForm(browser, form.form_id, XIAOHONG)
    await expect(page.locator('[data-state=blocked]')).toContainText('表单已关闭')
    await shot(page, 'form-closed')
    await axe(page)
  })
})
