// The growth pages against the real local stack: create a channel code with a rota and its
// own welcome (link attached), see its QR code; a customer scans it (the fake WeCom server
// plays the scan, the callback is delivered signed and encrypted) and gets the welcome with
// their name; the code's figures count the add, as figures, a chart and per member; pause,
// resume and delete from the list, each asked first; the tenant's default welcome; a code
// whose welcome carries a material of the content center (chosen, then replaced, through the
// picker), a tracked link and a group invite, as saved, shown and sent. Every page is
// screenshot and scanned with axe.
import { test, expect, apiOk, loginWithWeCom, scanChannelCode, shot, simulate, axe, welcomeMessages, stack } from './fixtures'
import { expectChartDrawn, pickFromDropdown, settled } from './console-helpers'

test.describe.configure({ mode: 'serial' })

/** `YYYY-MM-DD` in `zone`, now. */
function todayIn(zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())
}

/** A create through the admin API with an Idempotency-Key of its own. */
async function createWithKey<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${stack.adminApiUrl}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${stack.adminKey}`,
      'content-type': 'application/json',
      'Idempotency-Key': `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    },
    body: JSON.stringify(body),
  })
  const answer = await res.json()
  expect(res.ok, `POST ${path}: ${JSON.stringify(answer)}`).toBe(true)
  return answer as T
}

test.describe('growth', () => {
  const name = `E2E 门店海报 ${Date.now().toString(36)}`
  let state = ''

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('create a channel code with a rota and its own welcome', async ({ page }) => {
    await page.goto('/growth/channel-codes')
    await settled(page)
    await shot(page, 'growth-codes-before')
    await axe(page)
    await page.getByTestId('code-create').click()
    await expect(page).toHaveURL(/\/growth\/channel-codes\/new$/)
    await settled(page)

    // Saving an empty form shows the problems and sends nothing.
    await page.getByTestId('code-save').click()
    await expect(page.getByTestId('code-fix-problems')).toBeVisible()

    await page.getByTestId('code-name').fill(name)
    const shift = page.getByTestId('code-shift').first()
    await page.getByTestId('shift-userid').fill('zhangsan')
    // Every day, all day: zhangsan is on duty whenever the test runs.
    await shift.getByText('六', { exact: true }).click()
    await shift.getByText('日', { exact: true }).click()
    await page.getByTestId('shift-start').fill('00:00')
    await page.getByTestId('shift-end').fill('24:00')
    await expect(page.getByTestId('code-duty-now')).toContainText('zhangsan')
    // Fixed: the problems' notice is gone.
    await expect(page.getByTestId('code-fix-problems')).toHaveCount(0)

    await page.getByTestId('code-welcome-text').fill('欢迎 {customer_name}！我是 {staff_name}，每天签到领积分：{points_link}')
    await page.getByTestId('code-welcome-points-url').fill('https://h5.example.com/points')
    await pickFromDropdown(
      page.getByTestId('code-welcome-add-attachment'),
      page.getByTestId('code-welcome-add-link'),
      page.getByTestId('code-welcome-link-title'),
    )
    await page.getByTestId('code-welcome-link-title').fill('新人礼包')
    await page.getByTestId('code-welcome-link-url').fill('https://h5.example.com/gift')
    await expect(page.getByTestId('code-welcome-preview')).toContainText('https://h5.example.com/points?corp_id=')
    await page.getByTestId('code-remark').fill('海报-{customer_name}')
    await shot(page, 'growth-code-editor')
    await axe(page)

    await page.getByTestId('code-save').click()
    await expect(page).toHaveURL(/\/growth\/channel-codes\/ch[0-9a-f]{16}$/)
    state = page.url().split('/').pop()!
    await settled(page)
    await expect(page.getByTestId('code-status')).toContainText('使用中')
    await expect(page.getByTestId('code-on-duty')).toContainText('zhangsan')
    // The QR picture WeCom gave (the fake serves one) has loaded.
    const qr = page.getByTestId('code-qr').locator('img')
    await expect(qr).toBeVisible()
    await expect.poll(() => qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
  })

  test('a customer scans it: welcomed by name, and counted', async ({ page }) => {
    expect(state).not.toBe('')
    const customer = `wmE2E${Date.now().toString(36)}`
    const add = await scanChannelCode(state, customer, '小红')
    expect(add.userid).toBe('zhangsan')

    // growth-on-event answers the add with the code's welcome within WeCom's 20 seconds.
    await expect
      .poll(async () => (await welcomeMessages()).find((m) => m.welcome_code === add.welcome_code), { timeout: 20_000 })
      .toBeTruthy()
    const sent = (await welcomeMessages()).find((m) => m.welcome_code === add.welcome_code)!
    expect(sent.text?.content).toContain('欢迎 小红！')
    expect(sent.text?.content).toContain('https://h5.example.com/points?corp_id=')
    expect(sent.attachments).toHaveLength(1)

    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    const today = todayIn(tenant.settings?.timezone ?? 'Asia/Shanghai')
    await expect
      .poll(async () => (await apiOk<{ added: number }>('GET', `/v1/growth/channel-codes/${state}/figures?from=${today}&to=${today}`)).added, {
        timeout: 20_000,
      })
      .toBe(1)

    await page.goto(`/growth/channel-codes/${state}`)
    await settled(page)
    await expect(page.getByTestId('figure-added')).toContainText('1')
    await expectChartDrawn(page.getByTestId('code-chart'))
    await expect(page.getByTestId('code-per-member')).toContainText('zhangsan')
    await shot(page, 'growth-code')
    await axe(page)
  })

  test('pause, resume and delete from the list, each asked first', async ({ page }) => {
    expect(state).not.toBe('')
    await page.goto('/growth/channel-codes')
    await settled(page)
    const row = page.getByTestId('codes-table').locator('tr', { hasText: name })
    await expect(row.getByTestId('code-status')).toContainText('使用中')
    await shot(page, 'growth-codes')
    await axe(page)

    await row.getByRole('button', { name: '暂停' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(name)
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('code-status')).toContainText('已暂停')

    await row.getByRole('button', { name: '恢复' }).click()
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(row.getByTestId('code-status')).toContainText('使用中')

    await row.getByRole('button', { name: '删除' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText('二维码将失效')
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('codes-table').locator('tr', { hasText: name })).toHaveCount(0)
    await expect(apiOk('GET', `/v1/growth/channel-codes/${state}`)).rejects.toMatchObject({ status: 404 })
  })

  test('the default welcome: set, then turned off after a confirmation', async ({ page }) => {
    await page.goto('/growth/welcome')
    await settled(page)
    await page.getByTestId('default-welcome-text').fill('你好 {customer_name}，欢迎加入！')
    // The same editor as a code's: a link whose clicks are tracked.
    await pickFromDropdown(
      page.getByTestId('default-welcome-add-attachment'),
      page.getByTestId('default-welcome-add-link'),
      page.getByTestId('default-welcome-link-title'),
    )
    await page.getByTestId('default-welcome-link-title').fill('会员权益')
    await page.getByTestId('default-welcome-link-url').fill('https://h5.example.com/benefits')
    await page.getByTestId('default-welcome-link-track').click()
    await expect(page.getByTestId('default-welcome-add-attachment')).toContainText('1/9')
    await page.getByTestId('default-welcome-save').click()
    await expect
      .poll(async () => (await apiOk<{ welcome: { text?: string } | null }>('GET', '/v1/growth/default-welcome')).welcome?.text)
      .toBe('你好 {customer_name}，欢迎加入！')
    const saved = await apiOk<{ welcome: { attachments?: Record<string, unknown>[] } | null }>('GET', '/v1/growth/default-welcome')
    expect(saved.welcome?.attachments).toEqual([
      expect.objectContaining({ type: 'link', title: '会员权益', url: 'https://h5.example.com/benefits', track: true }),
    ])
    await page.reload()
    await settled(page)
    await expect(page.getByTestId('default-welcome-text')).toHaveValue('你好 {customer_name}，欢迎加入！')
    await expect(page.getByTestId('default-welcome-link-track')).toHaveClass(/is-checked/)
    await shot(page, 'growth-default-welcome')
    await axe(page)

    await page.getByTestId('default-welcome-remove').click()
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('default-welcome-off')).toBeVisible()
    const stored = await apiOk<{ welcome: unknown }>('GET', '/v1/growth/default-welcome')
    expect(stored.welcome).toBeNull()
  })

  test.describe('a welcome with a material, a tracked link and a group invite', () => {
    const suffix = Date.now().toString(36)
    const codeName = `E2E 入群海报 ${suffix}`
    const tag = `e2e-welcome-${suffix}`
    const introTitle = `E2E 店铺介绍 ${suffix}`
    const handbookTitle = `E2E 会员手册 ${suffix}`
    const groupName = `E2E 入群邀请 ${suffix}`
    const materials: string[] = []
    let handbookId = ''
    let groupState = ''
    let codeState = ''

    type Sent = { msgtype: string; link?: { title: string; url: string }; image?: { pic_url?: string } }[]
    /** The welcome a new customer scanning the code gets: its text and attachments. */
    async function welcomeOnScan(customer: string, name: string) {
      const add = await scanChannelCode(codeState, customer, name)
      await expect
        .poll(async () => (await welcomeMessages()).find((m) => m.welcome_code === add.welcome_code), { timeout: 20_000 })
        .toBeTruthy()
      const sent = (await welcomeMessages()).find((m) => m.welcome_code === add.welcome_code)!
      return { text: sent.text?.content ?? '', parts: (sent.attachments ?? []) as Sent }
    }

    test.beforeAll(async () => {
      const intro = await createWithKey<{ material_id: string }>('/v1/content/materials', {
        kind: 'text',
        title: introTitle,
        text: '本店周末全场九折',
        tags: [tag],
      })
      const handbook = await createWithKey<{ material_id: string; status: string }>('/v1/content/materials', {
        kind: 'link',
        title: handbookTitle,
        url: 'https://h5.example.com/handbook',
        tags: [tag],
      })
      expect(handbook.status).toBe('ready')
      materials.push(intro.material_id, handbook.material_id)
      handbookId = handbook.material_id
      const group = await createWithKey<{ state: string; qr_code?: string }>('/v1/growth/group-codes', {
        name: groupName,
        chat_ids: ['wrdemo002'],
        full_at: 195,
        auto_create_room: false,
        room_base_id: 1,
      })
      expect(group.qr_code).toBeTruthy()
      groupState = group.state
    })

    test.afterAll(async () => {
      if (codeState) await apiOk('DELETE', `/v1/growth/channel-codes/${codeState}`).catch(() => undefined)
      if (groupState) await apiOk('DELETE', `/v1/growth/group-codes/${groupState}`).catch(() => undefined)
      for (const id of materials) await apiOk('DELETE', `/v1/content/materials/${id}`).catch(() => undefined)
    })

    test('a material chosen then replaced through the picker, and a tracked link: saved, shown and sent', async ({ page }) => {
      await page.goto('/growth/channel-codes/new')
      await settled(page)
      await page.getByTestId('code-name').fill(codeName)
      const shift = page.getByTestId('code-shift').first()
      await page.getByTestId('shift-userid').fill('zhangsan')
      await shift.getByText('六', { exact: true }).click()
      await shift.getByText('日', { exact: true }).click()
      await page.getByTestId('shift-start').fill('00:00')
      await page.getByTestId('shift-end').fill('24:00')
      await page.getByTestId('code-welcome-text').fill('欢迎 {customer_name}！')

      await pickFromDropdown(
        page.getByTestId('code-welcome-add-attachment'),
        page.getByTestId('code-welcome-add-link'),
        page.getByTestId('code-welcome-link-title'),
      )
      await page.getByTestId('code-welcome-link-title').fill('新人礼包')
      await page.getByTestId('code-welcome-link-url').fill('https://h5.example.com/gift')
      await page.getByTestId('code-welcome-link-track').click()
      await expect(page.getByTestId('code-welcome-link-track')).toHaveClass(/is-checked/)

      const pickerTag = page.locator('[data-testid="picker-tag"]:visible')
      await pickFromDropdown(page.getByTestId('code-welcome-add-attachment'), page.getByTestId('code-welcome-add-material'), pickerTag)
      await pickerTag.fill(tag)
      await pickerTag.press('Enter')
      const picker = page.getByTestId('picker-table')
      await expect(picker.locator('tbody tr')).toHaveCount(2)
      await settled(page)
      await shot(page, 'growth-material-picker')
      await picker.locator('tr', { hasText: introTitle }).getByTestId('picker-choose').click()
      await expect(page.getByTestId('code-welcome-material-title')).toHaveText(introTitle)
      await page.getByTestId('code-welcome-material-change').click()
      await expect(picker.locator('tbody tr')).toHaveCount(2)
      await picker.locator('tr', { hasText: handbookTitle }).getByTestId('picker-choose').click()
      await expect(page.getByTestId('code-welcome-material-title')).toHaveText(handbookTitle)
      await expect(page.getByTestId('code-welcome-attachment')).toHaveCount(2)
      await expect(page.getByTestId('code-welcome-add-attachment')).toContainText('2/9')
      const preview = page.getByTestId('code-welcome-preview')
      await expect(preview).toContainText(handbookTitle)
      await expect(preview).toContainText('追踪点击')

      await page.getByTestId('code-save').click()
      await expect(page).toHaveURL(/\/growth\/channel-codes\/ch[0-9a-f]{16}$/)
      codeState = page.url().split('/').pop()!
      await settled(page)
      const attachments = page.getByTestId('code-attachment')
      await expect(attachments).toHaveCount(2)
      await expect(attachments.nth(0)).toContainText('新人礼包')
      await expect(attachments.nth(0)).toContainText('追踪点击')
      await expect(attachments.nth(1)).toContainText(handbookTitle)
      await expect(page.getByTestId('code-group-invite')).toHaveCount(0)

      const stored = await apiOk<{ welcome?: { attachments?: Record<string, unknown>[] } }>('GET', `/v1/growth/channel-codes/${codeState}`)
      expect(stored.welcome?.attachments).toEqual([
        expect.objectContaining({ type: 'link', title: '新人礼包', url: 'https://h5.example.com/gift', track: true }),
        expect.objectContaining({ type: 'material', material_id: handbookId }),
      ])

      // Sent: the tracked link as a short link of its own, the material as its link card.
      const { text, parts } = await welcomeOnScan(`wmE2EM${suffix}`, '小蓝')
      expect(text).toContain('欢迎 小蓝！')
      expect(parts.map((p) => p.msgtype)).toEqual(['link', 'link'])
      expect(parts[0].link?.title).toBe('新人礼包')
      expect(parts[0].link?.url).not.toBe('https://h5.example.com/gift')
      expect(parts[0].link?.url).toMatch(/\/l\/[A-Za-z0-9]+/)
      expect(parts[1].link).toMatchObject({ title: handbookTitle, url: 'https://h5.example.com/handbook' })
    })

    test('a group invite added in the editor: its QR shown with the code and sent last', async ({ page }) => {
      expect(codeState).not.toBe('')
      await page.goto(`/growth/channel-codes/${codeState}/edit`)
      await settled(page)
      await expect(page.getByTestId('code-welcome-material-title')).toHaveText(handbookTitle)
      await expect(page.getByTestId('code-welcome-link-track')).toHaveClass(/is-checked/)
      await expect(page.getByTestId('code-welcome-add-attachment')).toContainText('2/9')
      await page.getByTestId('code-group-invite').click()
      await page.locator('.el-select-dropdown__item:visible', { hasText: groupName }).click()
      // The invite's QR takes the ninth attachment.
      await expect(page.getByTestId('code-welcome-add-attachment')).toContainText('2/8')
      await expect(page.getByTestId('code-welcome-preview-extra')).toHaveText(`群二维码：${groupName}`)
      await settled(page)
      await shot(page, 'growth-code-editor-invite')
      await axe(page)

      await page.getByTestId('code-save').click()
      await expect(page).toHaveURL(new RegExp(`/growth/channel-codes/${codeState}$`))
      await settled(page)
      await expect(page.getByTestId('code-group-invite')).toHaveText(groupName)
      const stored = await apiOk<{ group_invite?: string; invite_pic_url?: string }>('GET', `/v1/growth/channel-codes/${codeState}`)
      expect(stored.group_invite).toBe(groupState)
      expect(stored.invite_pic_url).toMatch(/^https?:\/\//)
      // The picture WeCom hosts, or (where it cannot be loaded, as from the fake) a link to it.
      const pic = page.getByTestId('code-invite-pic')
      await expect(pic).toBeVisible()
      await expect(pic.locator(`img[src="${stored.invite_pic_url}"], a[href="${stored.invite_pic_url}"]`)).toHaveCount(1)
      await shot(page, 'growth-code-invite')
      await axe(page)

      const { parts } = await welcomeOnScan(`wmE2EI${suffix}`, '小紫')
      expect(parts.map((p) => p.msgtype)).toEqual(['link', 'link', 'image'])
      expect(parts[2].image?.pic_url).toBe(stored.invite_pic_url)
    })
  })

  test('a group code: its groups in order, a QR join counted, deleted after a confirmation', async ({ page }) => {
    const groupName = `E2E 会员群码 ${Date.now().toString(36)}`
    await page.goto('/growth/group-codes')
    await settled(page)
    await page.getByTestId('group-code-create').click()
    await settled(page)
    await page.getByTestId('group-code-name').fill(groupName)
    await page.getByTestId('group-select').click()
    for (const chat of ['wrdemo001', 'wrdemo002']) {
      await page.keyboard.type(chat)
      await page.keyboard.press('Enter')
    }
    await page.keyboard.press('Escape')
    await expect(page.getByTestId('group-code-pool').locator('tbody tr')).toHaveCount(2)
    await expect(page.getByTestId('group-code-holds')).toHaveCount(2)
    await page.getByTestId('group-code-auto').click()
    await page.getByTestId('group-code-base-name').fill('会员福利群')
    await shot(page, 'growth-group-code-editor')
    await axe(page)
    await page.getByTestId('group-code-save').click()
    await expect(page).toHaveURL(/\/growth\/group-codes\/gc[0-9a-f]{16}$/)
    const groupState = page.url().split('/').pop()!
    await settled(page)
    await expect(page.getByTestId('group-code-qr').locator('img')).toBeVisible()

    // A customer scans it and joins the first group (JoinScene 3: by QR code).
    await simulate('chat-add-member', ['--chat-id', 'wrdemo001', '--member-id', `wmE2EG${Date.now().toString(36)}`, '--join-scene', '3'])
    const tenant = await apiOk<{ settings?: { timezone?: string } }>('GET', '/v1/tenant')
    const today = todayIn(tenant.settings?.timezone ?? 'Asia/Shanghai')
    await expect
      .poll(
        async () => (await apiOk<{ joined: number }>('GET', `/v1/growth/group-codes/${groupState}/figures?from=${today}&to=${today}`)).joined,
        { timeout: 20_000 },
      )
      .toBe(1)
    await page.reload()
    await settled(page)
    await expect(page.getByTestId('group-figure-joined')).toContainText('1')
    await expect(page.getByTestId('group-code-per-group')).toContainText('会员福利群')
    await shot(page, 'growth-group-code')
    await axe(page)

    await page.goto('/growth/group-codes')
    await settled(page)
    const row = page.getByTestId('group-codes-table').locator('tr', { hasText: groupName })
    await expect(row.getByTestId('group-code-current')).not.toHaveText('—')
    await shot(page, 'growth-group-codes')
    await axe(page)
    await row.getByRole('button', { name: '删除' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(groupName)
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('group-codes-table').locator('tr', { hasText: groupName })).toHaveCount(0)
    await expect(apiOk('GET', `/v1/growth/group-codes/${groupState}`)).rejects.toMatchObject({ status: 404 })
  })
})
