// Generates the API clients' types from the API descriptions (docs/customer-api.yaml,
// docs/staff-api.yaml) with openapi-typescript; `--check` regenerates into a temporary folder
// and fails when a committed file differs, so the pages and the APIs cannot disagree silently.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const specs = [
  { spec: '../../docs/customer-api.yaml', out: 'src/api/customer-schema.d.ts' },
  { spec: '../../docs/staff-api.yaml', out: 'src/api/staff-schema.d.ts' },
]
const check = process.argv.includes('--check')
const dir = check ? mkdtempSync(join(tmpdir(), 'h5-api-check-')) : null
let stale = 0
try {
  for (const { spec, out } of specs) {
    if (!existsSync(spec)) {
      console.error(`${spec.replace('../../', '')} does not exist`)
      process.exit(1)
    }
    const target = dir ? join(dir, out.replace(/\//g, '_')) : out
    execFileSync('npx', ['openapi-typescript', spec, '-o', target], { stdio: 'ignore' })
    if (dir) {
      const same = existsSync(out) && readFileSync(out, 'utf8') === readFileSync(target, 'utf8')
      if (!same) {
        console.error(`${out} is out of date with ${spec.replace('../../', '')}: run \`npm run api:gen\` in web/h5.`)
        stale++
      } else {
        console.log(`${out} matches ${spec.replace('../../', '')}`)
      }
    }
  }
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true })
}
process.exit(stale ? 1 : 0)
