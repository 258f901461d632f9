import { config } from '@/config'
import { pageBase } from '@/router/landing'

/** WeCom's in-app OAuth for the corp's app, returning to this page with `code` and `state=s`. */
export function staffOauthUrl(corpId: string, agentId: string, href: string = location.href): string {
  const back = `${pageBase(href)}?corp_id=${encodeURIComponent(corpId)}`
  const query = new URLSearchParams({ appid: corpId, redirect_uri: back, response_type: 'code', scope: 'snsapi_base', state: 's' })
  if (agentId) query.set('agentid', agentId)
  return `${config().wecomOauthBase}?${query.toString()}#wechat_redirect`
}
