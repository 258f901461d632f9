import { staffLoose, type JsSdkSignature } from '@/api/staff'
import { WeCom } from './jssdk'

export { WeCom, isWeComBrowser, isChatEntry } from './jssdk'
export type { ChatMessage, Entry, SendResult } from './jssdk'

let instance: WeCom | null = null

/** The page's WeCom bridge, signed by the staff API. */
export function wecom(): WeCom {
  instance ??= new WeCom({
    sign: (url) => staffLoose.GET<JsSdkSignature>('/v1/jssdk/signature', { params: { query: { url } } }),
  })
  return instance
}
