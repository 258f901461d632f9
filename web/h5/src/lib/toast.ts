import { nextTick } from 'vue'
import { showToast, type ToastOptions } from 'vant'

/**
 * Shows a Vant toast announced as a status message. Vant renders a toast as a popup with
 * `role="dialog"` and no accessible name, which screen readers present as an unnamed dialog;
 * a short confirmation is a polite status instead.
 */
export function toast(options: ToastOptions): void {
  showToast(options)
  const patch = () => {
    for (const el of document.querySelectorAll('.van-toast')) {
      el.setAttribute('role', 'status')
      el.setAttribute('aria-live', 'polite')
      el.removeAttribute('tabindex')
    }
  }
  void nextTick(() => {
    patch()
    requestAnimationFrame(patch)
  })
}
