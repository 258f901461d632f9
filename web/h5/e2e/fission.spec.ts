// The customer's fission campaign page (邀请有礼) against the real local stack: a customer
// opens the campaign's entry link, logs in through the fake official account and lands on the
// campaign; takes their personal code and sees their poster (drawn by the API, shown as a
// picture to long-press); comes back to the same code; an upcoming campaign says when it
// starts, an ended one keeps the poster of a code taken before; the coupon codes a payout
// issued show with the tier that paid them, and a tier waiting for stock says so. Every page
// is screenshot and scanned.
import type { Browser, Page } from '@playwright/test'
import { test, expect, apiOk, shot, axe, stack, WECHAT_UA } from './fixtures'

/** The fake official account's demo WeChat user who is a customer of the demo corp. */
const XIAOMING = 'openid-wmdemo001'
const HOUR = 3_600_000

interface Campaign {
  id: string
  name: string
  status: string
}

/** A coupon list for the coupon tier (a tier naming a list that does not exist is refused). */
async function couponList(name: string): Promise<string> {
  const out = await apiOk<{ list: { id: string } }>(
    'POST',
    '/v1/growth/coupon-lists',
    { name, codes: [`E2E-H5-${name}`] },
    { 'Idempotency-Key': `h5-e2e-coupons-${encodeURIComponent(name)}`.slice(0, 128) },
  )
  return out.list.id
}

async function createCampaign(name: string, startsIn: number, listId: string): Promise<Campaign> {
  const start = Date.now() + startsIn
  return apiOk<Campaign>(
    'POST',
    '/v1/growth/fission-campaigns',
    {
      name,
      starts_at: new Date(start).toISOString(),
      ends_at: new Date(start + 30 * 24 * HOUR).toISOString(),
      tiers: [
        { invites: 1, reward: { kind: 'points', points: 50 } },
        { invites: 3, reward: { kind: 'coupon', list_id: listId } },
      ],
      hold_hours: 1,
      userids: ['zhangsan'],
      poster: {
        background_url: `${stack.wecomUrl}/_fake/qr/poster-background`,
        width: 750,
        height: 1334,
        name: { x: 150, y: 1190, size: 32, color: '#333333' },
        avatar: { x: 40, y: 1130, size: 96 },
        qr: { x: 490, y: 1074, size: 220 },
      },
    },
    { 'Idempotency-Key': `h5-e2e-fission-${encodeURIComponent(name)}`.slice(0, 128) },
  )
}

/** A phone with WeChat's browser opening the campaign's entry link, logged in as `openid`. */
async function openCampaign(browser: Browser, campaignId: string, openid: string): Promise<Page> {
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
  await page.goto(`/?corp_id=${stack.corpId}&page=fission/${campaignId}`)
  await page.waitForURL((url) => url.pathname.includes('/connect/oauth2/authorize'))
  await page.locator(`[data-openid="${openid}"]`).first().click()
  // Someone who does not follow the account is asked once more, for the profile's consent.
  const consent = () => {
    const url = new URL(page.url())
    return url.pathname.includes('/connect/oauth2/authorize') && url.searchParams.get('scope') === 'snsapi_userinfo'
  }
  await expect.poll(() => consent() || new URL(page.url()).hash.startsWith('#/c/fission/'), { timeout: 15_000 }).toBe(true)
  if (consent()) await page.locator(`[data-openid="${openid}"]`).first().click()
  await page.waitForURL((url) => url.hash === `#/c/fission/${campaignId}`)
  await expect(page.locator('[data-state=loading]')).toHaveCount(0)
  return page
}

test.describe('the fission campaign page', () => {
  test.describe.configure({ mode: 'serial' })
  const suffix = Date.now().toString(36)
  let running: Campaign
  let upcoming: Campaign

  test.beforeAll(async () => {
    // The demo tenant's official account: the fake WeChat server's demo account.
    await apiOk('PUT', '/v1/tenant/official-account', { app_id: 'wxdemoofficial0001', secret: 'demoofficialsecret00000000000001' })
    const listId = await couponList(suffix)
    running = await createCampaign(`E2E 邀请有礼 ${suffix}`, -60_000, listId)
    upcoming = await createCampaign(`E2E 下月邀请 ${suffix}`, 48 * HOUR, listId)
  })

  test('take my code and see my poster', async ({ browser }) => {
    const page = await openCampaign(browser, running.id, XIAOMING)
    await expect(page.locator('h1')).toHaveText(running.name)
    await expect(page.getByTestId('fission-status')).toHaveText('进行中')
    await expect(page.getByTestId('fission-tier')).toHaveCount(2)
    await expect(page.getByTestId('fission-tier').first()).toContainText('50 积分')
    await expect(page.getByTestId('fission-tier').first()).toContainText('还差 1 人')
    await expect(page.getByTestId('fission-pending')).toHaveText('0')
    await expect(page.getByTestId('fission-leaderboard-empty')).toBeVisible()
    await shot(page, 'fission')
    await axe(page)

    await page.getByTestId('fission-get-poster').click()
    const poster = page.getByTestId('fission-poster')
    await expect(poster).toBeVisible({ timeout: 15_000 })
    await expect.poll(() => poster.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    await expect(page.getByTestId('fission-poster-hint')).toContainText('长按图片保存')
    // Drawn as a PNG on the phone (WeChat recognises QR codes in raster pictures), at the
    // template's size.
    const shown = await poster.evaluate(async (img) => {
      const el = img as HTMLImageElement
      const blob = await (await fetch(el.src)).blob()
      return { type: blob.type, width: el.naturalWidth, height: el.naturalHeight }
    })
    expect(shown).toEqual({ type: 'image/png', width: 750, height: 1334 })
    await poster.scrollIntoViewIfNeeded()
    await shot(page, 'fission-poster')
    await axe(page)

    // The code is the customer's: taken once, the same one after; the poster names it.
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('scrm.h5.customer') ?? '{}').token as string)
    const auth = { Authorization: `Bearer ${token}` }
    const api = `${stack.h5Url}/customer-api/v1/fission/${running.id}`
    const first = (await (await fetch(`${api}/code`, { method: 'POST', headers: auth })).json()) as { state: string; qr_code: string }
    expect(first.state).toMatch(/^fi[0-9a-f]{16}$/)
    const again = (await (await fetch(`${api}/code`, { method: 'POST', headers: auth })).json()) as { state: string }
    expect(again.state).toBe(first.state)
    const svg = await fetch(`${api}/poster`, { headers: auth })
    expect(svg.status).toBe(200)
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/)
    const text = await svg.text()
    expect(text).toContain('<svg')
    // A picture shown through <img> loads nothing from outside itself: the background and
    // the QR code must be inside the SVG, or the phone shows a poster without its QR code.
    expect(text, 'the poster embeds its pictures (data: URLs)').toMatch(/href="data:image\//)

    // Back on the page later: the code is there, the poster shows without taking a new one.
    await page.reload()
    await expect(page.getByTestId('fission-get-poster')).toHaveText('查看我的专属海报')
    await page.context().close()
  })

  test('my coupon codes and a tier waiting for stock', async ({ browser }) => {
    const page = await openCampaign(browser, running.id, XIAOMING)
    // The payouts themselves (a code taken from the list once, a tier left waiting when the
    // list is empty) run in growth-rota and are covered by tests/it/fission.rs; here the
    // page's answer carries them as the API shapes them.
    const code = `E2E-COUPON-${suffix}`
    // First the coupon tier is earned while the list is empty, then paid after a restock.
    let me: Record<string, unknown> = { confirmed: 3, reached: 2, paid: [0], waiting: [1], coupons: [] }
    await page.route(`**/customer-api/v1/fission/${running.id}`, async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as { me: Record<string, unknown> }
      body.me = { ...body.me, ...me }
      await route.fulfill({ response, json: body })
    })
    await page.reload()
    await expect(page.locator('[data-state=loading]')).toHaveCount(0)
    await expect(page.getByTestId('fission-tier').nth(1)).toHaveAttribute('data-mark', 'stock')
    await expect(page.getByTestId('fission-tier').nth(1)).toContainText('奖品补货中')
    await expect(page.getByTestId('fission-coupons')).toHaveCount(0)
    await shot(page, 'fission-waiting')
    await axe(page)

    me = { ...me, paid: [0, 1], waiting: [], coupons: [{ tier: 1, code, issued_at: new Date().toISOString() }] }
    await page.reload()
    await expect(page.locator('[data-state=loading]')).toHaveCount(0)
    await expect(page.getByTestId('fission-tier').nth(1)).toHaveAttribute('data-mark', 'paid')
    await expect(page.getByTestId('fission-coupon')).toHaveCount(1)
    await expect(page.getByTestId('fission-coupon')).toContainText('邀请 3 人')
    await expect(page.getByTestId('fission-coupon-code')).toHaveText(code)
    // Copyable: the button puts the code on the clipboard.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(stack.h5Url).origin })
    await page.getByTestId('fission-coupon-copy').click()
    await expect(page.getByText('已复制')).toBeVisible()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code)
    await page.getByTestId('fission-coupons').scrollIntoViewIfNeeded()
    await shot(page, 'fission-coupons')
    await axe(page)
    await page.context().close()
  })

  test('an upcoming campaign says when it starts; an ended one keeps my poster', async ({ browser }) => {
    const page = await openCampaign(browser, upcoming.id, XIAOMING)
    await expect(page.getByTestId('fission-status')).toHaveText('未开始')
    await expect(page.getByTestId('fission-upcoming')).toContainText('活动将于')
    await expect(page.getByTestId('fission-get-poster')).toHaveCount(0)
    await shot(page, 'fission-upcoming')
    await axe(page)
    // The API refuses a code before the start as well.
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('scrm.h5.customer') ?? '{}').token as string)
    const early = await fetch(`${stack.h5Url}/customer-api/v1/fission/${upcoming.id}/code`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })
    expect(early.status).toBe(409)
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('campaign_not_started')

    await apiOk('POST', `/v1/growth/fission-campaigns/${running.id}/end`)
    await page.goto(`/#/c/fission/${running.id}`)
    await expect(page.getByTestId('fission-status')).toHaveText('已结束')
    await expect(page.getByTestId('fission-ended')).toBeVisible()
    await page.getByTestId('fission-get-poster').click()
    await expect(page.getByTestId('fission-poster')).toBeVisible({ timeout: 15_000 })
    await shot(page, 'fission-ended')
    await axe(page)
    await page.context().close()
  })
})
