import { createI18n } from 'vue-i18n'
import { Locale as VantLocale } from 'vant'
import vantEn from 'vant/es/locale/lang/en-US'
import vantZh from 'vant/es/locale/lang/zh-CN'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']
export const LOCALE_STORAGE_KEY = 'scrm.h5.locale'

type Messages = Record<string, unknown>

// Each area's messages live in their own file under their own top-level key (`staff: {...}`),
// merged here.
const areaModules = import.meta.glob<{ default: Record<Locale, Messages> }>('./messages/*.ts', { eager: true })

export function mergeMessages(modules: Record<string, { default: Record<Locale, Messages> }>): Record<Locale, Messages> {
  const merged: Record<Locale, Messages> = { 'zh-CN': {}, en: {} }
  for (const file of Object.keys(modules).sort()) {
    for (const locale of LOCALES) Object.assign(merged[locale], modules[file].default[locale] ?? {})
  }
  return merged
}

function initialLocale(): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(LOCALE_STORAGE_KEY) : null
  if (saved === 'en' || saved === 'zh-CN') return saved
  // WeChat and WeCom run in the phone's language: an English phone gets English pages.
  const nav = typeof navigator !== 'undefined' ? navigator.language : 'zh-CN'
  return /^en/i.test(nav) ? 'en' : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: mergeMessages(areaModules) as never,
  missingWarn: false,
  fallbackWarn: false,
})

function applyVantLocale(locale: Locale): void {
  if (locale === 'en') VantLocale.use('en-US', vantEn)
  else VantLocale.use('zh-CN', vantZh)
}
applyVantLocale(i18n.global.locale.value as Locale)

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(LOCALE_STORAGE_KEY, locale)
  document.documentElement.lang = locale
  applyVantLocale(locale)
}
