// Shared steps of the editor specs: a workflow made through the API, the canvas opened on it.
import type { Page } from '@playwright/test'
import { DEMO_PASSWORD, expect } from './fixtures'

export type Api = (method: string, path: string, body?: unknown) => Promise<any>

/** An API caller signed in as `email` (the demo password). */
export async function apiAs(url: string, email: string): Promise<Api> {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  }).then((r) => r.json())
  return async (method, p, body) => {
    const res = await fetch(`${url}${p}`, {
      method, headers: { Authorization: `Bearer ${login.access_token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
    return res.status === 204 ? null : res.json()
  }
}

/** The first workspace of the signed-in user (the one the console opens on). */
export async function firstWorkspace(api: Api): Promise<string> {
  return (await api('GET', '/api/me')).workspaces[0].id
}

/** Drag a palette item onto the canvas at (x, y) of the canvas. */
export async function dropOnCanvas(page: Page, paletteKey: string, x: number, y: number): Promise<void> {
  await page.getByTestId(`palette-${paletteKey}`).dragTo(page.getByTestId('canvas'), { targetPosition: { x, y } })
}

export async function openCanvas(page: Page, flowId: string, title: string): Promise<void> {
  await page.goto(`/workflows/${flowId}`)
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible()
}

export const START_CHECK_END = {
  nodes: [
    { id: 's', name: 'start', type: 'start', ui: { position: { x: 0, y: 100 } } },
    { id: 'c', name: 'check', type: 'condition', config: { $jsonata: 'amount > 100' }, ui: { position: { x: 300, y: 100 } } },
    { id: 'y', name: 'big', type: 'end', ui: { position: { x: 600, y: 0 } } },
    { id: 'n', name: 'small', type: 'end', ui: { position: { x: 600, y: 220 } } },
  ],
  edges: [{ from: 's', to: 'c', port: 'out' }, { from: 'c', to: 'y', port: 'true' }, { from: 'c', to: 'n', port: 'false' }],
}
