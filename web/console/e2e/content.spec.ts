// The material library against the real local stack: an operator uploads a real PNG, which
// the browser PUTs straight to the local S3 server (moto) through the presigned URL; the
// admin API verifies it and the list shows it ready with its preview. A file of the wrong
// type is refused in the dialog and nothing is created; a text material is written; deleting
// asks first. Every page is screenshot and scanned with axe.
import { test, expect, apiOk, loginWithWeCom, shot, axe } from './fixtures'
import { settled } from './console-helpers'

test.describe.configure({ mode: 'serial' })

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

test.describe('content center', () => {
  const suffix = Date.now().toString(36)
  const imageTitle = `E2E 海报 ${suffix}`
  const textTitle = `E2E 欢迎语 ${suffix}`

  test.beforeEach(async ({ page }) => {
    await loginWithWeCom(page, 'zhangsan')
  })

  test('upload a PNG through the presigned URL and see it in the library', async ({ page }) => {
    await page.goto('/content/materials')
    await settled(page)
    await shot(page, 'content-before')
    await axe(page)

    await page.getByTestId('material-create').click()
    const dialog = page.getByTestId('material-dialog')
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText('标签（逗号分隔）')
    // A GIF is not an image WeCom takes: refused before anything is sent.
    await page.getByTestId('material-file').setInputFiles({ name: 'a.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a-not-taken') })
    await page.getByTestId('material-title-input').fill(imageTitle)
    await page.getByTestId('material-save').click()
    await expect(page.getByTestId('material-error')).toContainText('文件类型')

    await page.getByTestId('material-file').setInputFiles({ name: 'poster.png', mimeType: 'image/png', buffer: PNG })
    await page.getByTestId('material-title-input').fill(imageTitle)
    await page.getByTestId('material-tags').fill('上新, 海报')
    await page.getByTestId('material-save').click()
    await expect(dialog).toBeHidden()
    await expect(page.getByText('素材已保存')).toBeVisible()

    const row = page.getByTestId('materials-table').locator('tr', { hasText: imageTitle })
    await expect(row.getByTestId('material-status')).toHaveText('可用')
    // The preview comes from the bucket: the uploaded bytes made it there.
    await expect(row.getByTestId('material-thumb')).toBeVisible()
    await expect.poll(() => row.getByTestId('material-thumb').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1)
    await settled(page)
    await shot(page, 'content-uploaded')
    await axe(page)

    // The API agrees: one ready image, of the PNG's size, with the GIF never created.
    const list = await apiOk<{ items: { title: string; status: string; kind: string; file?: { size: number } }[] }>(
      'GET',
      '/v1/content/materials?tag=%E6%B5%B7%E6%8A%A5',
    )
    const mine = list.items.filter((m) => m.title === imageTitle)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ status: 'ready', kind: 'image', file: { size: PNG.length } })
  })

  test('write a text material, then delete it after a confirmation', async ({ page }) => {
    await page.goto('/content/materials')
    await settled(page)
    await page.getByTestId('material-create').click()
    await page.getByTestId('material-kind').getByText('文本', { exact: true }).click()
    await page.getByTestId('material-title-input').fill(textTitle)
    await page.getByTestId('material-text').fill('欢迎光临，回复 1 领取优惠券')
    await shot(page, 'content-text-editor')
    await page.getByTestId('material-save').click()
    const row = page.getByTestId('materials-table').locator('tr', { hasText: textTitle })
    await expect(row.getByTestId('material-status')).toHaveText('可用')

    await row.getByRole('button', { name: '删除' }).click()
    await expect(page.locator('[data-test=confirm-message]:visible')).toContainText(textTitle)
    await page.locator('[data-test=confirm-proceed]:visible').click()
    await expect(page.getByTestId('materials-table').locator('tr', { hasText: textTitle })).toHaveCount(0)
  })
})
