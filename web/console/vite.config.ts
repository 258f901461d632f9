/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The admin API lives on another origin locally (the functions' emulator); the dev and preview
// servers proxy `/admin-api` to it so the browser only ever talks to one origin, as it does when
// deployed behind the CDN.
const adminApi = process.env.SCRM_ADMIN_API ?? 'http://127.0.0.1:9000/lambda-url/admin-api'
const proxy = {
  '/admin-api': {
    target: adminApi,
    changeOrigin: true,
    rewrite: (path: string) => path.replace(/^\/admin-api/, ''),
  },
}

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus's services used from scripts, listed so their global types exist before any
    // build has seen a page using them (main.ts loads their styles).
    AutoImport({
      imports: [{ 'element-plus': ['ElMessage', 'ElMessageBox', 'ElNotification', 'ElLoading'] }],
      dts: 'src/auto-imports.d.ts',
    }),
    Components({
      resolvers: [ElementPlusResolver()],
      dts: 'src/components.d.ts',
      // Only Element Plus is resolved automatically; our own components are imported by name.
      dirs: [],
    }),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: { proxy },
  preview: { proxy },
  build: {
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.spec.ts'],
    setupFiles: ['src/test/setup.ts'],
    // One module graph for every file: the set-up (Element Plus, i18n) is loaded once instead of
    // once per file (a quarter of the time). Each test builds its own Pinia (freshPinia()).
    isolate: false,
    // Element Plus ships CSS imports; the tests only need its components.
    css: false,
    // A bound, not a figure: the first mount of a page compiles its Element Plus components,
    // which on a busy two-core machine outlasts the default 5 s.
    testTimeout: 30_000,
    server: { deps: { inline: ['element-plus'] } },
  },
})
