// Helpers shared by the console's own specs (login, dashboard, customers, settings).
import { expect, type Locator, type Page } from '@playwright/test'

/**
 * Waits until the chart in `scope` has drawn something: a canvas with non-transparent pixels.
 * Charts draw when they come near the viewport (EChart.vue), so the chart is scrolled to first,
 * as a reader would.
 */
export async function expectChartDrawn(scope: Locator): Promise<void> {
  await scope.scrollIntoViewIfNeeded()
  const canvas = scope.locator('[data-test="echart"] canvas').first()
  await expect(canvas).toBeVisible()
  await expect
    .poll(
      () =>
        canvas.evaluate((el) => {
          const c = el as HTMLCanvasElement
          const ctx = c.getContext('2d')
          if (!ctx || c.width === 0 || c.height === 0) return 0
          const data = ctx.getImageData(0, 0, c.width, c.height).data
          let painted = 0
          for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++
          return painted
        }),
      { message: 'the chart canvas has pixels drawn' },
    )
    .toBeGreaterThan(100)
}

/** The page has finished loading: no skeleton left. */
export async function settled(page: Page): Promise<void> {
  // A page not mounted yet shows no loading state either: wait for the app to render first.
  await expect(page.locator('#app > *').first()).toBeVisible()
  await expect(page.locator('[data-state="loading"]')).toHaveCount(0)
  // Then for finite transitions to end: an element still fading in has not reached its
  // colours, which a screenshot catches blank and an accessibility scan reads as low contrast.
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity),
  )
}

/**
 * Picks `item` from the click-triggered dropdown opened by `trigger`, and waits for `outcome` to
 * show. A click landing while the menu still fades in can be lost (the menu closes without a
 * command), so the pick is retried until the outcome shows; `outcome` must be something only a
 * successful pick makes appear, so a retry never picks twice.
 */
export async function pickFromDropdown(trigger: Locator, item: Locator, outcome: Locator): Promise<void> {
  await expect(async () => {
    if ((await outcome.count()) > 0) return
    if (!(await item.isVisible())) await trigger.click()
    await item.click({ timeout: 2_000 })
    await expect(outcome.first()).toBeVisible({ timeout: 2_000 })
  }).toPass({ timeout: 20_000 })
}
