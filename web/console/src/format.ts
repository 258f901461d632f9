// Dates as operators read them, in the console's language.
import { i18n } from '@/i18n'

function locale(): string {
  return i18n.global.locale.value === 'en' ? 'en-GB' : 'zh-CN'
}

const numberFormats = new Map<string, Intl.NumberFormat>()

/**
 * A count in the console's language (1,234). One formatter per language, made once: vue-i18n's
 * `n()` without a named format builds a new Intl.NumberFormat on every call, which a page of
 * figures felt.
 */
export function formatNumber(value: number): string {
  const lang = i18n.global.locale.value
  let format = numberFormats.get(lang)
  if (!format) {
    format = new Intl.NumberFormat(lang)
    numberFormats.set(lang, format)
  }
  return format.format(value)
}

/** A WeCom epoch (seconds) or an ISO string, as date and time; '—' when absent. */
export function formatTime(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '' || value === 0) return '—'
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return date.toLocaleString(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
}

/** A cursor-paged list's position: the cursors of the pages before this one. */
export class CursorPager {
  private stack: (string | undefined)[] = []
  cursor: string | undefined = undefined

  get page(): number {
    return this.stack.length + 1
  }
  get hasPrev(): boolean {
    return this.stack.length > 0
  }
  next(nextCursor: string): void {
    this.stack.push(this.cursor)
    this.cursor = nextCursor
  }
  prev(): void {
    this.cursor = this.stack.pop()
  }
  reset(): void {
    this.stack = []
    this.cursor = undefined
  }
}
