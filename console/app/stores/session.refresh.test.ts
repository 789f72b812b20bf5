// @vitest-environment happy-dom
// The session store against a real HTTP server on loopback: silent refresh before expiry
// with the CSRF header, and a refused refresh ending the session with the API's reason.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useSessionStore } from './session'

let server: Server
let refuseWith: string | null = null
const refreshes: Array<{ csrf: string | undefined; transport: string | undefined }> = []
const ME = { user: { id: 'u1', email: 'a@b.test', name: 'A', created_at: '2026-01-01T00:00:00Z' },
  tenant: { id: 't1', name: 'T', slug: 't' }, role: 'admin', kind: 'user', tenants: [], workspaces: [] }

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json')
    if (req.url === '/auth/refresh') {
      refreshes.push({ csrf: req.headers['x-csrf-token'] as string, transport: req.headers['x-session-transport'] as string })
      if (refuseWith) {
        res.writeHead(401)
        res.end(JSON.stringify({ error: { code: 'session_ended', message: refuseWith } }))
        return
      }
      res.end(JSON.stringify({ access_token: `a${refreshes.length + 1}`, token_type: 'Bearer', expires_in: 900,
        tenant_id: 't1', role: 'admin', user_id: 'u1', refresh_token_transport: 'cookie' }))
      return
    }
    if (req.url === '/api/me' && req.headers.authorization?.startsWith('Bearer a')) {
      res.end(JSON.stringify(ME))
      return
    }
    res.writeHead(401)
    res.end(JSON.stringify({ error: { code: 'unauthenticated', message: 'no' } }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${base}/settings/users`)
  document.cookie = 'stepline_csrf=csrf-1; path=/'
})
afterAll(() => { server.close() })
beforeEach(() => {
  setActivePinia(createPinia())
  refreshes.length = 0
  refuseWith = null
})

describe('session store', () => {
  it('refreshes silently before the access token expires, with the CSRF header', async () => {
    const session = useSessionStore()
    // GIVEN a session whose access token expires in 65 s (refresh is due 60 s before: after 5 s)
    await session.adopt({ access_token: 'a1', expires_in: 65 })
    expect(session.status).toBe('signed-in')
    // THEN within a few seconds, without any call failing, it has a new token
    await expect.poll(() => session.accessToken, { timeout: 9_000, interval: 200 }).toBe('a2')
    expect(refreshes).toEqual([{ csrf: 'csrf-1', transport: 'cookie' }])
    session.clear()
  }, 15_000)

  it('a refused refresh ends the session with the reason the API gives', async () => {
    const session = useSessionStore()
    await session.adopt({ access_token: 'a1', expires_in: 900 })
    refuseWith = 'The password of this account was changed, so every session ended: sign in again.'
    expect(await session.refresh()).toBe(false)
    expect(session.status).toBe('signed-out')
    expect(session.accessToken).toBeNull()
    expect(session.endedReason).toBe(refuseWith)
  })

  it('concurrent refreshes share one request', async () => {
    const session = useSessionStore()
    await session.adopt({ access_token: 'a1', expires_in: 900 })
    const results = await Promise.all([session.refresh(), session.refresh(), session.refresh()])
    expect(results).toEqual([true, true, true])
    expect(refreshes).toHaveLength(1)
    session.clear()
  })
})
