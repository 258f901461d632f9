// The customer pages against the real local stack: a customer logs in through the fake
// official account's web OAuth, checks in twice (paid once), sees the calendar, the points
// and the profile; two customers redeem the last unit of a reward at once: one wins, the
// other is told it is out of stock. Every page is screenshot and scanned.
import type { Browser, Page } from '@playwright/test'
import { test, expect, apiOk, shot, axe, stack, WECHAT_UA } from './fixtures'

interface Options {
  configured: boolean
}

/** The fake official account's demo WeChat users: two customers of the demo corp, one not. */
const XIAOMING = 'openid-wmdemo001'
const XIAOHONG = 'openid-wmdemo002'
const STRANGER = 'openid-stranger01'

/** A fresh phone with WeChat's browser, through the official account's login as `openid`. */
async function customerPhone(browser: Browser, openid: string, expectCustomer = true): Promise<{ page: Page; userid: string }> {
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
  await page.goto(`/?corp_id=${stack.corpId}`)
  // The fake official account's authorize page: one confirmation per demo WeChat user.
  await page.waitForURL((url) => url.pathname.includes('/connect/oauth2/authorize'))
  await shot(page, 'customer-oauth')
  await page.locator(`[data-openid="${openid}"]`).first().click()
  // Someone who does not follow the account is asked once more, for the consent
  // (snsapi_userinfo) that tells their unionid.
  const h5 = new URL(stack.h5Url).origin
  const consent = () => {
    const url = new URL(page.url())
    return url.pathname.includes('/connect/oauth2/authorize') && url.searchParams.get('scope') === 'snsapi_userinfo'
  }
  await expect
    .poll(
      async () =>
        consent() || new URL(page.url()).hash.startsWith('#/c/check-in') || (await page.locator('[data-state=not-customer]').count()) > 0,
      { timeout: 15_000 },
    )
    .toBe(true)
  if (consent()) await page.locator(`[data-openid="${openid}"]`).first().click()
  await page.waitForURL((url) => url.origin === h5 && url.hash.startsWith('#/c/'))
  if (!expectCustomer) return { page, userid: '' }
  await expect(page).toHaveURL(/#\/c\/check-in/)
  const userid = await page.evaluate(() => JSON.parse(localStorage.getItem('scrm.h5.customer') ?? '{}').external_userid as string)
  return { page, userid }
}

test('the login page opened without a corp says where to open it', async ({ page }) => {
  await page.goto('/#/c/login')
  await expect(page.locator('[data-state=empty]')).toBeVisible()
  await shot(page, 'customer-login')
  await axe(page)
})

test.describe('customer pages', () => {
  test.describe.configure({ mode: 'serial' })

  test.beforeAll(async () => {
    // The demo tenant's official account: the fake WeChat server's demo account.
    await apiOk('PUT', '/v1/tenant/official-account', { app_id: 'wxdemoofficial0001', secret: 'demoofficialsecret00000000000001' })
    const options = await fetch(`${stack.h5Url}/customer-api/v1/oauth/official/options?corp_id=${stack.corpId}`)
    const body = (await options.json().catch(() => ({}))) as Partial<Options>
    expect(options.ok && body.configured, 'the demo tenant has its official account configured (scripts/web-test.sh)').toBe(true)
    // Check-in pays 10 a day, with a 3-day tier; the profile and the follow pay too.
    const rules = await apiOk<Record<string, unknown>>('GET', '/v1/points/rules')
    await apiOk('PUT', '/v1/points/rules', {
      ...rules,
      check_in: { enabled: true, base_points: 10, streak_tiers: [{ days: 3, bonus: 20 }] },
      profile: { enabled: true, points: 30, fields: ['name', 'mobile'] },
      follow_official_account: { enabled: true, points: 5 },
    })
  })

  test('log in through the official account and check in twice: paid once', async ({ browser }) => {
    const { page, userid } = await customerPhone(browser, XIAOMING)
    expect(userid).toBeTruthy()
    await expect(page).toHaveURL(/#\/c\/check-in/)
    await expect(page.getByTestId('calendar')).toBeVisible()
    // The rule's 3-day tier: how many more days to it, and what it pays.
    await expect(page.getByTestId('next-tier')).toContainText('连签 3 天额外 +20 积分')
    const start = Number(await page.getByTestId('balance').innerText())
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())
    await shot(page, 'check-in')
    await axe(page)

    // A second tab, loaded before the first check-in.
    const second = await page.context().newPage()
    await second.goto('/#/c/check-in')
    await expect(second.getByTestId('calendar')).toBeVisible()

    const button = page.getByTestId('check-in')
    let paid = 0
    if (await button.isEnabled()) {
      await button.click()
      await expect(page.getByTestId('earned')).toContainText('签到成功 +')
      await expect(button).toBeDisabled()
      paid = Number(await page.getByTestId('balance').innerText()) - start
      expect(paid).toBeGreaterThanOrEqual(10)
      // The stale tab checks in again: the day's check-in, nothing more paid.
      await second.getByTestId('check-in').click()
      await expect(second.getByTestId('earned')).toContainText('今天已经签到过了')
    } else {
      // The demo data checked this customer in today already: the page says so.
      await expect(button).toContainText('今日已签到')
    }
    await expect(page.locator(`[data-date="${today}"][data-checked=true]`)).toBeVisible()
    await shot(page, 'check-in-done')

    // Two more check-ins as the page sends them: each answers the day's check-in.
    const replays = await second.evaluate(async () => {
      const token = JSON.parse(localStorage.getItem('scrm.h5.customer') ?? '{}').token as string
      const out: { amount: number; balance: number }[] = []
      for (let i = 0; i < 2; i++) {
        const res = await fetch('./customer-api/v1/check-in', { method: 'POST', headers: { Authorization: `Bearer ${token}` } })
        out.push(await res.json())
      }
      return out
    })
    // A replay answers the day's check-in as it was then: the same both times.
    expect(replays[1]).toEqual(replays[0])
    await second.reload()
    await expect(second.getByTestId('balance')).toHaveText(String(start + paid))
    const ledger = await apiOk<{ entries: { reason: string; local_date: string }[] }>('GET', `/v1/points/customers/${userid}/ledger`)
    expect(ledger.entries.filter((e) => e.reason === 'check_in' && e.local_date === today)).toHaveLength(1)

    await page.getByRole('tab', { name: '积分' }).click()
    await expect(page.getByTestId('ledger-row').filter({ hasText: '每日签到' }).first()).toBeVisible()
    await shot(page, 'points')
    await axe(page)

    await page.getByRole('tab', { name: '我的' }).click()
    await expect(page.getByTestId('save-profile')).toBeVisible()
    await shot(page, 'me')
    await axe(page)

    await page.getByRole('tab', { name: '兑换' }).click()
    await expect(page.getByTestId('reward').first().or(page.locator('[data-state=empty]'))).toBeVisible()
    await shot(page, 'rewards')
    await axe(page)
    await page.context().close()
  })

  test('two customers redeem the last unit at once: one wins, one is told it is out of stock', async ({ browser }) => {
    const a = await customerPhone(browser, XIAOMING)
    const b = await customerPhone(browser, XIAOHONG)
    const cost = 5
    const suffix = Date.now().toString(36)
    const reward = await apiOk<{ reward_id: string }>(
      'POST',
      '/v1/points/rewards',
      { name: `最后一件 ${suffix}`, cost, stock: 1 },
      { 'Idempotency-Key': `h5-e2e-reward-${suffix}` },
    )
    await apiOk('POST', '/v1/points/bulk', { operation: 'award', external_userids: [a.userid, b.userid], points: 50, reason: 'e2e' }, { 'Idempotency-Key': `h5-e2e-award-${suffix}` })

    for (const { page } of [a, b]) {
      await page.goto('/#/c/rewards')
      await page.reload()
      const card = page.locator(`[data-reward-id="${reward.reward_id}"]`)
      // The units left, as the catalogue keeps them.
      await expect(card.getByTestId('stock')).toHaveText('剩余 1 件')
      await card.getByTestId('redeem').click()
      await expect(page.getByRole('dialog')).toContainText('确认兑换')
    }
    await shot(a.page, 'rewards-confirm')
    // Both confirm at the same moment.
    await Promise.all([a.page, b.page].map((p) => p.getByRole('dialog').getByRole('button', { name: '兑换' }).click()))

    const outcome = async (page: Page): Promise<'won' | 'out'> => {
      const won = page.getByText(/兑换成功/)
      const out = page.getByRole('dialog').filter({ hasText: '这件礼品刚刚兑完了' })
      await expect(won.or(out)).toBeVisible()
      return (await won.count()) ? 'won' : 'out'
    }
    const results = await Promise.all([outcome(a.page), outcome(b.page)])
    // A sorted copy: `results` keeps the phones' order, a first and b second.
    expect([...results].sort()).toEqual(['out', 'won'])
    const loser = results[0] === 'out' ? a.page : b.page
    // Said in Chinese, without the API's English message; the spinner has stopped.
    const failure = loser.getByRole('dialog').filter({ hasText: '兑换失败' })
    await expect(failure).toContainText('这件礼品刚刚兑完了，看看其他礼品吧。')
    await expect(failure).not.toContainText(/out of stock/i)
    const lost = loser.locator(`[data-reward-id="${reward.reward_id}"]`)
    await expect(lost.getByTestId('redeem')).not.toHaveClass(/van-button--loading/)
    await shot(loser, 'rewards-out-of-stock')
    // The mall read the stock again after the attempt: none left.
    await failure.getByRole('button', { name: '确定' }).click()
    await expect(lost.getByTestId('stock')).toHaveText('已兑完')
    await expect(lost.getByTestId('redeem')).toBeDisabled()

    const redemptions = await apiOk<{ redemptions: unknown[] }>('GET', `/v1/points/rewards/${reward.reward_id}/redemptions`)
    expect(redemptions.redemptions).toHaveLength(1)

    const winner = results[0] === 'won' ? a.page : b.page
    await winner.goto('/#/c/me')
    await expect(winner.getByTestId('redemptions')).toContainText(`最后一件 ${suffix}`)
    await shot(winner, 'me-redemptions')
    await axe(winner)
  })

  test('a WeChat user who is not a customer yet is asked to add the staff first', async ({ browser }) => {
    const { page } = await customerPhone(browser, STRANGER, false)
    await expect(page.locator('[data-state=not-customer]')).toContainText('请先添加我们的员工为好友')
    await shot(page, 'customer-not-a-customer')
    await axe(page)
  })
})
