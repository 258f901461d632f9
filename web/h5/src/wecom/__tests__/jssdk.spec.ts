import { describe, expect, it, vi } from 'vitest'
import { WeCom, isChatEntry, isWeComBrowser, type Signatures, type WeComSdk } from '../jssdk'

const WECOM_UA = 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh'
const BROWSER_UA = 'Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36'

const signed: Signatures = {
  corp_id: 'wwcorp',
  agent_id: 1000002,
  config: { timestamp: 1414587457, nonce_str: 'Wm3WZYTPz0wzccnW', signature: 'c'.repeat(40) },
  agent_config: { timestamp: 1414587457, nonce_str: 'Wm3WZYTPz0wzccnW', signature: 'a'.repeat(40) },
}

function fakeSdk(entry = 'single_chat_tools') {
  return {
    register: vi.fn(),
    getContext: vi.fn(async () => ({ errMsg: 'getContext:ok', entry })),
    sendChatMessage: vi.fn(async () => ({ errMsg: 'sendChatMessage:ok' })),
    getCurExternalContact: vi.fn(async () => ({ errMsg: 'ok', userId: 'wmcustomer1' })),
    getCurExternalChat: vi.fn(async () => ({ errMsg: 'ok', chatId: 'wrgroup1' })),
  }
}

describe('the WeCom bridge outside WeCom', () => {
  it('copies instead of sending, and never loads the SDK or asks for signatures', async () => {
    const load = vi.fn()
    const sign = vi.fn()
    const copy = vi.fn(async () => true)
    const ww = new WeCom({ userAgent: BROWSER_UA, load, sign, copy })
    expect(ww.inWeCom).toBe(false)
    expect(await ww.entry()).toBeNull()
    expect(await ww.send({ msgtype: 'text', text: { content: 'hi' } }, 'hi')).toBe('copied')
    expect(copy).toHaveBeenCalledWith('hi')
    expect(await ww.currentContact()).toBeNull()
    expect(load).not.toHaveBeenCalled()
    expect(sign).not.toHaveBeenCalled()
  })

  it('says so when copying fails too', async () => {
    const ww = new WeCom({ userAgent: BROWSER_UA, sign: vi.fn(), copy: async () => false })
    expect(await ww.send({ msgtype: 'text', text: { content: 'x' } }, 'x')).toBe('failed')
  })
})

describe('the WeCom bridge inside WeCom', () => {
  it('registers with the app identity, signing the URL before #, and sends into the chat', async () => {
    const sdk = fakeSdk()
    const sign = vi.fn(async () => signed)
    const copy = vi.fn(async () => true)
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign, copy, pageUrl: () => 'https://h5.example.com/?token=x#/staff/tasks/1' })
    expect(await ww.send({ msgtype: 'text', text: { content: 'hello' } }, 'hello')).toBe('sent')
    expect(sign).toHaveBeenCalledWith('https://h5.example.com/?token=x')
    expect(sdk.register).toHaveBeenCalledTimes(1)
    const options = sdk.register.mock.calls[0][0]
    expect(options.corpId).toBe('wwcorp')
    expect(options.agentId).toBe(1000002)
    expect(options.jsApiList).toContain('sendChatMessage')
    expect(options.getAgentConfigSignature('u')).toEqual({ timestamp: 1414587457, nonceStr: 'Wm3WZYTPz0wzccnW', signature: 'a'.repeat(40) })
    expect(sdk.sendChatMessage).toHaveBeenCalledWith({ msgtype: 'text', text: { content: 'hello' } })
    expect(copy).not.toHaveBeenCalled()
  })

  it('retries once with fresh signatures when a call fails', async () => {
    const sdk = fakeSdk()
    sdk.sendChatMessage.mockRejectedValueOnce(new Error('sendChatMessage:fail no permission'))
    const sign = vi.fn(async () => signed)
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign, copy: async () => true, pageUrl: () => 'https://h5.example.com/' })
    expect(await ww.send({ msgtype: 'text', text: { content: 'x' } }, 'x')).toBe('sent')
    expect(sdk.sendChatMessage).toHaveBeenCalledTimes(2)
    expect(sdk.register).toHaveBeenCalledTimes(2)
    // getContext signed once, the failed send's retry once more.
    expect(sign).toHaveBeenCalledTimes(2)
  })

  it('falls back to copying when the retry fails too', async () => {
    const sdk = fakeSdk()
    sdk.sendChatMessage.mockRejectedValue(new Error('sendChatMessage:cancel'))
    const copy = vi.fn(async () => true)
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign: async () => signed, copy, pageUrl: () => 'https://h5.example.com/' })
    expect(await ww.send({ msgtype: 'text', text: { content: 'x' } }, 'x')).toBe('copied')
    expect(sdk.sendChatMessage).toHaveBeenCalledTimes(2)
    expect(copy).toHaveBeenCalledWith('x')
  })

  it('copies when opened outside a chat (the app from Workbench)', async () => {
    const sdk = fakeSdk('normal')
    const copy = vi.fn(async () => true)
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign: async () => signed, copy, pageUrl: () => 'https://h5.example.com/' })
    expect(await ww.canSend()).toBe(false)
    expect(await ww.send({ msgtype: 'text', text: { content: 'x' } }, 'x')).toBe('copied')
    expect(sdk.sendChatMessage).not.toHaveBeenCalled()
  })

  it('reads the current customer and group', async () => {
    const sdk = fakeSdk()
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign: async () => signed, pageUrl: () => 'https://h5.example.com/' })
    expect(await ww.currentContact()).toBe('wmcustomer1')
    expect(await ww.currentChat()).toBe('wrgroup1')
  })

  it('does not keep a registration whose signing failed', async () => {
    const sdk = fakeSdk()
    const sign = vi.fn().mockRejectedValueOnce(new Error('unavailable')).mockRejectedValueOnce(new Error('unavailable')).mockResolvedValue(signed)
    const ww = new WeCom({ userAgent: WECOM_UA, load: async () => sdk as unknown as WeComSdk, sign, copy: async () => true, pageUrl: () => 'https://h5.example.com/' })
    expect(await ww.currentContact()).toBeNull()
    expect(await ww.currentContact()).toBe('wmcustomer1')
  })
})

describe('recognising WeCom', () => {
  it('by its user agent and its chat entries', () => {
    expect(isWeComBrowser(WECOM_UA)).toBe(true)
    expect(isWeComBrowser(BROWSER_UA)).toBe(false)
    expect(isWeComBrowser('Mozilla/5.0 MicroMessenger/8.0.50')).toBe(false)
    expect(isChatEntry('group_chat_tools')).toBe(true)
    expect(isChatEntry('normal')).toBe(false)
    expect(isChatEntry(null)).toBe(false)
  })
})
