import { afterEach, describe, expect, it, vi } from 'vitest'
import { config, configReady, loadConfig, startsBeforeConfig, type H5Config } from '@/config'

describe('the runtime configuration', () => {
  afterEach(() => {
    delete window.__scrmConfig
  })

  it('takes what index.html already asked for, without asking again', async () => {
    window.__scrmConfig = Promise.resolve({ customerApiBase: 'https://api.example.com/c' })
    const fetchImpl = vi.fn()
    await loadConfig(fetchImpl as unknown as typeof fetch)
    expect(fetchImpl).not.toHaveBeenCalled()
    expect(config().customerApiBase).toBe('https://api.example.com/c')
    expect(config().staffApiBase).toBe('/staff-api')
  })

  it('asks itself when the early read failed', async () => {
    window.__scrmConfig = Promise.resolve(null)
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ customerApiBase: '/customer-api' }), { status: 200 }))
    await loadConfig(fetchImpl as unknown as typeof fetch)
    expect(fetchImpl).toHaveBeenCalledTimes(1)
    expect(config().customerApiBase).toBe('/customer-api')
  })
})

describe('starting before config.json arrives', () => {
  it('happens only for the check-in page opened as such', () => {
    expect(startsBeforeConfig({ hash: '#/c/check-in', search: '' })).toBe(true)
    expect(startsBeforeConfig({ hash: '#/c/rewards', search: '' })).toBe(false)
    expect(startsBeforeConfig({ hash: '#/c/check-in', search: '?code=abc&state=c:check-in' })).toBe(false)
    expect(startsBeforeConfig({ hash: '', search: '?corp_id=ww1' })).toBe(false)
  })

  it('makes the API calls wait for the configuration', async () => {
    let release: (v: Partial<H5Config> | null) => void = () => {}
    window.__scrmConfig = new Promise((resolve) => (release = resolve))
    const read = loadConfig(vi.fn() as unknown as typeof fetch)
    let ready = false
    void configReady().then(() => (ready = true))
    await Promise.resolve()
    expect(ready).toBe(false)
    release({ customerApiBase: '/late' })
    await read
    await configReady()
    expect(ready).toBe(true)
    expect(config().customerApiBase).toBe('/late')
  })
})
