// The auth transport against a real HTTP server on loopback (no fetch stub).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { authFetch, bindSession } from './transport'

let server: Server
let base = ''
let valid = 'fresh'
const seen: Array<{ url: string; auth: string | undefined }> = []

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization })
    const ok = req.headers.authorization === `Bearer ${valid}`
    res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify(ok ? { ok: true } : { error: { code: 'unauthenticated', message: 'no' } }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => { server.close() })
beforeEach(() => { seen.length = 0 })

function session(token: string, refreshTo: string | null) {
  const state = { token, refreshes: 0, endedWith: null as string | null }
  bindSession({
    accessToken: () => state.token,
    refresh: async () => {
      state.refreshes += 1
      await new Promise((r) => setTimeout(r, 20))
      if (refreshTo === null) return false
      state.token = refreshTo
      return true
    },
    ended: (reason) => { state.endedWith = reason },
  })
  return state
}

describe('authFetch', () => {
  it('sends the in-memory access token as a bearer header', async () => {
    valid = 'fresh'
    session('fresh', null)
    const res = await authFetch(new Request(`${base}/api/me`))
    expect(res.status).toBe(200)
    expect(seen[0]?.auth).toBe('Bearer fresh')
  })

  it('on a 401 refreshes once and retries the request, body included', async () => {
    valid = 'renewed'
    const state = session('expired', 'renewed')
    const res = await authFetch(new Request(`${base}/api/workspaces`, { method: 'POST', body: '{"name":"x"}' }))
    expect(res.status).toBe(200)
    expect(state.refreshes).toBe(1)
    expect(seen.map((s) => s.auth)).toEqual(['Bearer expired', 'Bearer renewed'])
  })

  it('gives the 401 back when the session cannot be refreshed', async () => {
    valid = 'other'
    const state = session('expired', null)
    const res = await authFetch(new Request(`${base}/api/me`))
    expect(res.status).toBe(401)
    expect(state.refreshes).toBe(1)
  })

  it('never refreshes for the /auth routes themselves', async () => {
    valid = 'other'
    const state = session('expired', 'renewed')
    const res = await authFetch(new Request(`${base}/auth/change`, { method: 'POST', body: '{}' }))
    expect(res.status).toBe(401)
    expect(state.refreshes).toBe(0)
  })
})
