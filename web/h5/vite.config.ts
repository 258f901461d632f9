/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import { serviceWorker } from './scripts/service-worker-plugin.ts'

// The customer and staff APIs live on another origin locally (the functions' emulator); the
// dev and preview servers proxy them so the pages only ever talk to their own origin, as they
// do when deployed behind the CDN.
const customerApi = process.env.SCRM_CUSTOMER_API ?? 'http://127.0.0.1:9000/lambda-url/customer-api'
const staffApi = process.env.SCRM_STAFF_API ?? 'http://127.0.0.1:9000/lambda-url/staff-api'
const proxy = {
  '/customer-api': {
    target: customerApi,
    changeOrigin: true,
    rewrite: (path: string) => path.replace(/^\/customer-api/, ''),
  },
  '/staff-api': {
    target: staffApi,
    changeOrigin: true,
    rewrite: (path: string) => path.replace(/^\/staff-api/, ''),
  },
}

export default defineConfig({
  // Relative asset URLs: the pages are served from any folder of the web origin (hash routing
  // keeps every route on the one index.html, whose URL is what WeCom's JS-SDK signs).
  base: './',
  plugins: [
    vue(),
    Components({
      resolvers: [VantResolver()],
      dts: 'src/components.d.ts',
      // Only Vant is resolved automatically; our own components are imported by name.
      dirs: [],
    }),
    serviceWorker(),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: { proxy, port: 5174 },
  preview: { proxy, port: 4174 },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.spec.ts'],
    setupFiles: ['src/test/setup.ts'],
    css: false,
    server: { deps: { inline: ['vant'] } },
  },
})
