// WeCom's JS-SDK (`@wecom/jssdk`) behind the few calls the pages make, with the fallbacks the
// pages need outside WeCom's browser (a plain browser, WeChat): there, "send to the chat"
// copies instead, and the current customer comes from the page's query.
//
// The SDK is loaded only inside WeCom, so customers' pages never download it. It is
// registered once per page with the application's identity (sendChatMessage and the current
// contact/chat need `agentConfig`), signed by the staff API for the page's URL before `#`
// (hash routing keeps it the landing URL, which is what iOS signs). A failed registration
// or call is retried once with fresh signatures: the commonest failure is a signature made
// for a ticket WeCom has just rotated.
import type * as WW from '@wecom/jssdk'
import { copyText } from '@/lib/clipboard'

export type Entry =
  | 'normal'
  | 'contact_profile'
  | 'single_chat_tools'
  | 'group_chat_tools'
  | 'chat_attachment'
  | 'single_kf_tools'
  | (string & {})

export interface Signatures {
  corp_id: string
  agent_id: string | number
  config: { timestamp: number | string; nonce_str: string; signature: string }
  agent_config: { timestamp: number | string; nonce_str: string; signature: string }
}

export type WeComSdk = Pick<typeof WW, 'register' | 'getContext' | 'sendChatMessage' | 'getCurExternalContact' | 'getCurExternalChat'>

export interface WeComOptions {
  /** The browser's user agent (WeCom's contains `wxwork`). */
  userAgent?: string
  /** Loads the SDK (tests pass a fake). */
  load?: () => Promise<WeComSdk>
  /** Signatures for a page URL (the staff API's `GET /v1/jssdk/signature`). */
  sign: (url: string) => Promise<Signatures>
  /** The page's URL (its part before `#` is signed). */
  pageUrl?: () => string
  /** Copies text (tests pass a fake). */
  copy?: (text: string) => Promise<boolean>
}

/** What a "send" did: sent into the chat, copied (outside a chat), or neither. */
export type SendResult = 'sent' | 'copied' | 'failed'

/** A message for the current chat (the subset of sendChatMessage the task content uses). */
export type ChatMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { mediaid: string } }
  | { msgtype: 'video'; video: { mediaid: string } }
  | { msgtype: 'file'; file: { mediaid: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } }
  | { msgtype: 'miniprogram'; miniprogram: { appid: string; title: string; imgUrl: string; page: string } }

const JS_API_LIST = ['sendChatMessage', 'getContext', 'getCurExternalContact', 'getCurExternalChat']
const CHAT_ENTRIES = new Set(['single_chat_tools', 'group_chat_tools', 'chat_attachment', 'single_kf_tools'])

export function isWeComBrowser(userAgent: string): boolean {
  return /wxwork/i.test(userAgent)
}

export function isChatEntry(entry: Entry | null): boolean {
  return entry !== null && CHAT_ENTRIES.has(entry)
}

export class WeCom {
  readonly inWeCom: boolean
  private sdk: Promise<WeComSdk> | null = null
  private registered: Promise<WeComSdk> | null = null
  private entryValue: Promise<Entry | null> | null = null

  constructor(private readonly options: WeComOptions) {
    this.inWeCom = isWeComBrowser(options.userAgent ?? (typeof navigator === 'undefined' ? '' : navigator.userAgent))
  }

  private load(): Promise<WeComSdk> {
    this.sdk ??= (this.options.load ?? (() => import('@wecom/jssdk')))()
    return this.sdk
  }

  private pageUrl(): string {
    const url = this.options.pageUrl?.() ?? location.href
    return url.split('#')[0]
  }

  /** Registers with fresh signatures; `force` discards an earlier registration. */
  private register(force = false): Promise<WeComSdk> {
    if (this.registered && !force) return this.registered
    const attempt = (async () => {
      const sdk = await this.load()
      const signed = await this.options.sign(this.pageUrl())
      const as = (s: Signatures['config']) => ({ timestamp: s.timestamp, nonceStr: s.nonce_str, signature: s.signature })
      sdk.register({
        corpId: signed.corp_id,
        agentId: signed.agent_id,
        jsApiList: JS_API_LIST,
        getConfigSignature: () => as(signed.config),
        getAgentConfigSignature: () => as(signed.agent_config),
      })
      return sdk
    })()
    // A failed registration is not kept: the next call signs again.
    attempt.catch(() => {
      if (this.registered === attempt) this.registered = null
    })
    this.registered = attempt
    return attempt
  }

  /** Runs `call` on the registered SDK, once more with fresh signatures if it fails. */
  private async withRetry<T>(call: (sdk: WeComSdk) => Promise<T>): Promise<T> {
    try {
      return await call(await this.register())
    } catch {
      return call(await this.register(true))
    }
  }

  /** Where WeCom opened the page (`single_chat_tools`...), or null outside WeCom. */
  entry(): Promise<Entry | null> {
    if (!this.inWeCom) return Promise.resolve(null)
    this.entryValue ??= this.withRetry(async (sdk) => (await sdk.getContext()).entry as Entry).catch(() => 'normal' as Entry)
    return this.entryValue
  }

  /** Inside a chat's toolbar: content can be sent into the chat. */
  async canSend(): Promise<boolean> {
    return isChatEntry(await this.entry())
  }

  /**
   * Sends `message` into the current chat; outside a chat, copies `fallbackText` (what a
   * staff member pastes) instead.
   */
  async send(message: ChatMessage, fallbackText: string): Promise<SendResult> {
    if (await this.canSend()) {
      try {
        await this.withRetry((sdk) => sdk.sendChatMessage(message as Parameters<WeComSdk['sendChatMessage']>[0]))
        return 'sent'
      } catch {
        // Refused twice (a cancelled send, a revoked permission): copying still works.
      }
    }
    const copy = this.options.copy ?? copyText
    return (await copy(fallbackText)) ? 'copied' : 'failed'
  }

  /** The customer of the 1:1 chat whose sidebar this is, or null. */
  async currentContact(): Promise<string | null> {
    if (!this.inWeCom) return null
    try {
      return (await this.withRetry((sdk) => sdk.getCurExternalContact())).userId ?? null
    } catch {
      return null
    }
  }

  /** The group of the group chat whose sidebar this is, or null. */
  async currentChat(): Promise<string | null> {
    if (!this.inWeCom) return null
    try {
      return (await this.withRetry((sdk) => sdk.getCurExternalChat())).chatId ?? null
    } catch {
      return null
    }
  }
}
