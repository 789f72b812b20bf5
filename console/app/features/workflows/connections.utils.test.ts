import { describe, expect, it } from 'vitest'
import { connectionItems, connectionNeed } from './connections.utils'

describe('connection picker', () => {
  it('knows which nodes take a connection and of which app', () => {
    expect(connectionNeed({ kind: 'app_action', app_id: 'github', needs_connection: true })).toEqual({ appId: 'github', required: true })
    expect(connectionNeed({ kind: 'app_action', app_id: 'echo', needs_connection: false })).toEqual({ appId: 'echo', required: false })
    expect(connectionNeed({ kind: 'step_type', type: 'http_request', needs_credentials: true })).toEqual({ appId: null, required: false })
    expect(connectionNeed({ kind: 'step_type', type: 'condition', needs_credentials: false })).toBeNull()
    expect(connectionNeed(undefined)).toBeNull()
  })
  it('lists the app’s connections by name, marking broken ones', () => {
    const conns = [
      { id: '1', name: 'Zed', app_id: 'github', status: 'ok' },
      { id: '2', name: 'Slack main', app_id: 'slack', status: 'ok' },
      { id: '3', name: 'Alpha', app_id: 'github', status: 'refresh_failed' },
    ]
    expect(connectionItems(conns, 'github')).toEqual([{ title: 'Alpha (refresh failed)', value: '3' }, { title: 'Zed', value: '1' }])
    expect(connectionItems(conns, null).map((i) => i.value)).toEqual(['3', '2', '1'])
  })
})
