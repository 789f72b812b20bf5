// API helpers of the run, trigger and operations browser tests: sign in over the API
// and build workflows and runs directly, so each test starts from the state it checks.
import path from 'node:path'
import { DEMO_PASSWORD, expect } from './fixtures'

export type Call = (method: string, path: string, body?: unknown) => Promise<any>

export async function apiAs(url: string, email: string): Promise<Call> {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  }).then((r) => r.json())
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { Authorization: `Bearer ${login.access_token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    expect(res.ok, `${method} ${path}: ${res.status} ${res.ok ? '' : await res.clone().text()}`).toBe(true)
    return res.status === 204 ? null : res.json()
  }
}

export const node = (id: string, type: string, config?: Record<string, unknown>) => ({ id, name: id, type, ...(config ? { config } : {}) })
export const edge = (from: string, to: string, port?: string) => ({ from, to, ...(port ? { port } : {}) })

/** The first workspace of the builder (ACME's, shared with the viewer). */
export async function firstWorkspace(call: Call): Promise<string> {
  return (await call('GET', '/api/me')).workspaces[0].id
}

export async function createFlow(call: Call, ws: string, title: string, graph: unknown): Promise<{ id: string }> {
  return call('POST', `/api/workspaces/${ws}/flows`, { title, graph })
}

export async function startTestRun(call: Call, ws: string, flowId: string, input: unknown = {}): Promise<{ id: string }> {
  return call('POST', `/api/workspaces/${ws}/flows/${flowId}/runs`, { mode: 'test', input })
}

export async function waitForRun(call: Call, ws: string, runId: string, until: (run: any) => boolean, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const run = await call('GET', `/api/workspaces/${ws}/runs/${runId}`)
    if (until(run)) return run
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

/** Where a screenshot goes: docs/console/ with STEPLINE_SCREENSHOTS=1 (the docs' images), else test-results/. */
export function shotPath(name: string): string {
  const dir = process.env.STEPLINE_SCREENSHOTS === '1'
    ? path.resolve(import.meta.dirname, '..', '..', 'docs', 'console')
    : path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots')
  return path.join(dir, `${name}.png`)
}
