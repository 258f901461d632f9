import { afterEach, describe, expect, it, vi } from 'vitest'
import { registerServiceWorker } from '../register'

function fakeWindow(readyState: DocumentReadyState) {
  const listeners: Record<string, () => void> = {}
  return {
    win: {
      document: { readyState },
      addEventListener: (name: string, fn: () => void) => (listeners[name] = fn),
    } as unknown as Window,
    fire: (name: string) => listeners[name]?.(),
  }
}

describe('registering the service worker', () => {
  afterEach(() => vi.unstubAllEnvs())

  it('registers sw.js scoped to the pages’ folder once the page has loaded, in production', async () => {
    vi.stubEnv('PROD', true)
    const register = vi.fn().mockResolvedValue({})
    const { win, fire } = fakeWindow('loading')
    registerServiceWorker({ serviceWorker: { register } } as unknown as Navigator, win)
    expect(register).not.toHaveBeenCalled()
    fire('load')
    expect(register).toHaveBeenCalledWith('./sw.js', { scope: './' })
  })

  it('does nothing where service workers do not exist (in-app browsers)', () => {
    vi.stubEnv('PROD', true)
    const { win } = fakeWindow('complete')
    expect(() => registerServiceWorker({} as Navigator, win)).not.toThrow()
  })

  it('swallows a refused registration', async () => {
    vi.stubEnv('PROD', true)
    const register = vi.fn().mockRejectedValue(new Error('blocked'))
    const { win } = fakeWindow('complete')
    registerServiceWorker({ serviceWorker: { register } } as unknown as Navigator, win)
    expect(register).toHaveBeenCalledOnce()
    await Promise.resolve()
  })

  it('never registers outside production builds', () => {
    vi.stubEnv('PROD', false)
    const register = vi.fn()
    registerServiceWorker({ serviceWorker: { register } } as unknown as Navigator, fakeWindow('complete').win)
    expect(register).not.toHaveBeenCalled()
  })
})
