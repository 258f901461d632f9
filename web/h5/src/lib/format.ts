import { currentLocale } from '@/i18n'

/** A date and time in the reader's language, e.g. 11月30日 09:00 / Nov 30, 09:00. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(currentLocale() === 'en' ? 'en-GB' : 'zh-CN', {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d)
}

/** A signed points amount: +10 / -200. */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n)
}
