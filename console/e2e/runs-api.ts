// API helpers of the run, trigger and operations browser tests: sign in over the API
// and build workflows and runs directly, so each test starts from the state it checks.
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
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

/** Standard Webhooks headers for `body` (docs/architecture.md, webhooks): base64 HMAC-SHA256 of
 * `{id}.{timestamp}.{body}` with the base64 key after `whsec_`, sent as `v1,<signature>`. */
export function signStandardWebhook(secret: string, id: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}`, 'Content-Type': 'application/json' }
}

export interface FakeVendor { url: string; stop(): void }

/** A loopback fake vendor (tests/fakes/vendors/serve.py: `httpbin`, `oauth`) in its own process. */
export async function serveFakeVendor(name: 'httpbin' | 'oauth'): Promise<FakeVendor> {
  const repo = path.resolve(import.meta.dirname, '..', '..')
  const python = process.env.STEPLINE_PYTHON ?? path.join(repo, '.venv', 'bin', 'python')
  const child = spawn(python, ['-m', 'tests.fakes.vendors.serve', name], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fake ${name} did not start`)), 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      const m = /READY (\S+)/.exec(d.toString())
      if (m) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the fake ${name} exited (${code})`)) })
  })
  return { url, stop: () => { child.kill('SIGTERM') } }
}
