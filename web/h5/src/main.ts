import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'vant/es/toast/style'
import 'vant/es/dialog/style'
import 'vant/es/notify/style'
import './styles.css'
import App from './App.vue'
import { loadConfig, startsBeforeConfig } from './config'
import { i18n } from './i18n'
import { createH5Router } from './router'
import { landing, wasUsed } from './router/landing'
import { connectStaffStore, useStaffSession } from './stores/staffSession'
import { connectCustomerStore, useCustomerSession } from './stores/customerSession'
import { registerServiceWorker } from './sw/register'

async function start() {
  const configRead = loadConfig()
  if (!startsBeforeConfig(location)) await configRead
  const app = createApp(App)
  app.use(createPinia())
  app.use(i18n)
  const router = createH5Router()

  // A session the API refused (expired): back to that side's login page, saying why.
  const staff = useStaffSession()
  connectStaffStore(staff, () => void router.push({ name: 'staff-login' }))
  const customer = useCustomerSession()
  connectCustomerStore(customer, () => void router.push({ name: 'customer-login' }))

  const translate = (key: string): string => (i18n.global as unknown as { t: (k: string) => string }).t(key)
  router.afterEach((to) => {
    const name = translate(to.meta.area === 'staff' ? 'app.staffName' : 'app.name')
    document.title = to.meta.titleKey ? `${translate(to.meta.titleKey)} · ${name}` : name
  })
  document.documentElement.lang = i18n.global.locale.value

  // A page opened from a reminder, WeCom's or WeChat's OAuth, or a menu: its query decides
  // the first page (only when no page is named after `#`).
  const first = landing(location.search, wasUsed)
  const hashRoute = location.hash.replace(/^#/, '')
  if (first && (hashRoute === '' || hashRoute === '/')) await router.replace(first)

  app.use(router)
  app.mount('#app')
  registerServiceWorker()
}

void start()
