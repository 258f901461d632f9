import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import 'element-plus/es/components/notification/style/css'
import 'element-plus/es/components/loading/style/css'
import './styles.css'
import App from './App.vue'
import { loadConfig } from './config'
import { i18n } from './i18n'
import { createConsoleRouter } from './router'
import { connectSessionToClient, useSessionStore } from './stores/session'
import { setUnauthenticatedHandler } from './api/client'

async function start() {
  await loadConfig()
  const app = createApp(App)
  const pinia = createPinia()
  app.use(pinia)
  app.use(i18n)
  const router = createConsoleRouter()
  app.use(router)

  const session = useSessionStore()
  connectSessionToClient(session)
  // The API refused the session (expired or revoked): back to the login page, saying why.
  setUnauthenticatedHandler((_error, token) => {
    if (!session.refusedWith(token)) return
    const here = router.currentRoute.value
    if (!here.meta.public) void router.push({ name: 'login', query: { redirect: here.fullPath } })
  })
  const translate = (key: string): string => (i18n.global as unknown as { t: (k: string) => string }).t(key)
  router.afterEach((to) => {
    const title = to.meta.titleKey ? translate(to.meta.titleKey) : ''
    document.title = title ? `${title} · ${translate('app.name')}` : translate('app.name')
  })
  document.documentElement.lang = i18n.global.locale.value

  app.mount('#app')
}

void start()
