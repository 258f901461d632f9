import { describe, expect, it } from 'vitest'
import { landing, pageBase } from '../landing'
import { authorizeUrl } from '@/stores/customerSession'
import { staffOauthUrl } from '@/lib/oauth'

describe('the first page of a page opened from outside', () => {
  it('exchanges a reminder link', () => {
    expect(landing('?token=abc.def')).toEqual({ path: '/staff/login', query: { token: 'abc.def' } })
  })

  it('keeps the corp and app of a reminder link, even once the link was used', () => {
    expect(landing('?corp_id=ww1&agent_id=7&token=abc.def')).toEqual({
      path: '/staff/login',
      query: { token: 'abc.def', corp_id: 'ww1', agent_id: '7' },
    })
    // A reload after the exchange: a staff login (WeCom OAuth), never the customers' one.
    expect(landing('?corp_id=ww1&agent_id=7&token=abc', (v) => v === 'abc')).toEqual({
      path: '/staff/login',
      query: { corp_id: 'ww1', agent_id: '7' },
    })
  })

  it('tells a staff OAuth return from a customer one by the state', () => {
    expect(landing('?corp_id=ww1&code=C1&state=s')).toEqual({ path: '/staff/login', query: { code: 'C1', corp_id: 'ww1' } })
    expect(landing('?corp_id=ww1&scope=snsapi_base&code=C2&state=c:/c/rewards')).toMatchObject({
      path: '/c/login',
      query: { code: 'C2', corp_id: 'ww1', next: '/c/rewards' },
    })
  })

  it('skips a link or code already exchanged (a reload)', () => {
    expect(landing('?token=abc', (v) => v === 'abc')).toBeNull()
    expect(landing('?corp_id=ww1&code=C1&state=c', (v) => v === 'C1')).toMatchObject({ path: '/c/login', query: { corp_id: 'ww1' } })
  })

  it('opens the sidebar for a named customer outside WeCom', () => {
    expect(landing('?external_userid=wm1')).toEqual({ path: '/staff/sidebar', query: { external_userid: 'wm1' } })
  })

  it('sends a customer with only the corp to the login', () => {
    expect(landing('?corp_id=ww1&page=rewards')).toEqual({ path: '/c/login', query: { corp_id: 'ww1', next: '/c/rewards' } })
    expect(landing('')).toBeNull()
  })
})

describe('OAuth addresses', () => {
  it('returns to the page without its query or hash', () => {
    expect(pageBase('https://h5.example.com/m/index.html?token=x#/staff/tasks')).toBe('https://h5.example.com/m/index.html')
  })

  it('builds the official account authorize URL', () => {
    const url = authorizeUrl({ configured: true, app_id: 'wxapp', authorize_url: 'http://127.0.0.1:8400/mp/connect/oauth2/authorize' }, 'https://h5.example.com/?corp_id=ww1', 'snsapi_base', 'c:/c/check-in')
    expect(url.endsWith('#wechat_redirect')).toBe(true)
    const parsed = new URL(url)
    expect(parsed.origin + parsed.pathname).toBe('http://127.0.0.1:8400/mp/connect/oauth2/authorize')
    expect(parsed.searchParams.get('appid')).toBe('wxapp')
    expect(parsed.searchParams.get('redirect_uri')).toBe('https://h5.example.com/?corp_id=ww1')
    expect(parsed.searchParams.get('scope')).toBe('snsapi_base')
    expect(parsed.searchParams.get('state')).toBe('c:/c/check-in')
  })

  it('builds WeCom’s in-app OAuth URL for staff', () => {
    const url = new URL(staffOauthUrl('ww1', '1000002', 'https://h5.example.com/?x=1#/staff/login'))
    expect(url.searchParams.get('appid')).toBe('ww1')
    expect(url.searchParams.get('agentid')).toBe('1000002')
    expect(url.searchParams.get('redirect_uri')).toBe('https://h5.example.com/?corp_id=ww1')
    expect(url.searchParams.get('state')).toBe('s')
    expect(url.hash).toBe('#wechat_redirect')
  })
})
