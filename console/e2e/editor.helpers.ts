// Shared steps of the editor specs: a workflow made through the API, the canvas opened on it.
import type { Locator, Page } from '@playwright/test'
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

/** Drop a palette item on the canvas and close the node panel it opens, so the canvas keeps its width. */
export async function dropNode(page: Page, paletteKey: string, x: number, y: number, name: string): Promise<Locator> {
  await dropOnCanvas(page, paletteKey, x, y)
  const node = page.getByTestId(`node-${name}`)
  await expect(node).toBeVisible()
  await page.getByRole('complementary', { name: 'Node settings' }).getByRole('button', { name: 'Close node settings' }).click()
  return node
}

/** Drag from an output handle to an input handle, as a mouse does. */
export async function connectHandles(page: Page, from: Locator, to: Locator): Promise<void> {
  const a = await from.boundingBox()
  const b = await to.boundingBox()
  if (!a || !b) throw new Error('handle not visible')
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2)
  await page.mouse.down()
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 })
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 })
  await page.mouse.up()
}

/** Open a node's settings panel (a click on the node) and set its config as JSON; returns the panel. */
export async function setNodeConfig(page: Page, name: string, config: unknown): Promise<Locator> {
  const panel = page.getByRole('complementary', { name: 'Node settings' })
  // an open panel narrows the canvas (and may cover the node): closed first
  if (await panel.isVisible()) await panel.getByRole('button', { name: 'Close node settings' }).click()
  await page.getByTestId(`node-${name}`).click()
  await expect(panel.getByRole('heading', { name: new RegExp(`^${name} `) })).toBeVisible()
  await panel.getByRole('tab', { name: 'JSON' }).click()
  await panel.getByLabel('Config (JSON)').fill(JSON.stringify(config))
  return panel
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
