// Builds the service worker (sw.js next to index.html) from src/sw/worker.js and the routing
// rules of src/sw/routing.ts, in production builds only. Its VERSION is a digest of the
// build's file names (hashed by content) and index.html, so every deployment that changes a
// byte ships a different sw.js: the browser installs it on the next visit and the worker
// drops the previous build's cache. PRECACHE lists what the first page needs: index.html,
// config.json and the files index.html loads; other pages' chunks are kept when first used.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { transformWithOxc, type Plugin } from 'vite'

const source = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8')

export function serviceWorker(): Plugin {
  return {
    name: 'scrm-h5-service-worker',
    apply: 'build',
    enforce: 'post',
    generateBundle: {
      order: 'post',
      async handler(_options, bundle) {
        const index = bundle['index.html']
        if (!index || index.type !== 'asset') return
        const html = String(index.source)
        const loaded = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1])
        const version = createHash('sha256')
          .update(Object.keys(bundle).sort().join('\n'))
          .update(html)
          .digest('hex')
          .slice(0, 16)
        const routing = (await transformWithOxc(source('../src/sw/routing.ts'), 'routing.ts', { lang: 'ts' })).code
        const code = [
          `// Built from src/sw/worker.js and src/sw/routing.ts (scripts/service-worker-plugin.ts).`,
          `const VERSION = ${JSON.stringify(version)}`,
          `const PRECACHE = ${JSON.stringify(['index.html', 'config.json', ...new Set(loaded)])}`,
          routing.replace(/^export /gm, ''),
          source('../src/sw/worker.js'),
        ].join('\n')
        this.emitFile({ type: 'asset', fileName: 'sw.js', source: code })
      },
    },
  }
}
