// Mounts components with the console's plugins: i18n (zh-CN unless a test switches) and Pinia.
import { config } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { i18n } from '@/i18n'

export function freshPinia() {
  const pinia = createPinia()
  setActivePinia(pinia)
  return pinia
}

config.global.plugins = [i18n, ElementPlus]
