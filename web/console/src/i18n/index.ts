import { createI18n } from 'vue-i18n'
import { computed } from 'vue'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import en from 'element-plus/es/locale/lang/en'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']
export const LOCALE_STORAGE_KEY = 'scrm.console.locale'

type Messages = Record<string, unknown>

// Each area's messages live in its own file under its own top-level key (`points: {...}`), so
// engineers of different areas never edit the same file; they are merged here.
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
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: mergeMessages(areaModules) as never,
  missingWarn: false,
  fallbackWarn: false,
})

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(LOCALE_STORAGE_KEY, locale)
  document.documentElement.lang = locale
}

/** Element Plus's own texts (pagination, date pickers...) follow the console's language. */
export const elementLocale = computed(() => (i18n.global.locale.value === 'en' ? en : zhCn))
