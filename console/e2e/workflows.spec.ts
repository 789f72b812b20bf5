// Workflows: the list (create, filter, duplicate, delete) and the canvas (drag and drop,
// connect ports, a graph error marked on its node, fixed and saved), read-only for a viewer.
import path from 'node:path'
import { connectHandles as connect, dropOnCanvas } from './editor.helpers'
import { DEMO_PASSWORD, expect, expectAccessible, test } from './fixtures'

const SHOTS = process.env.STEPLINE_SCREENSHOTS === '1'
  ? path.resolve(import.meta.dirname, '..', '..', 'docs', 'console')
  : path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots')

test('a builder creates a workflow, builds it on the canvas, sees a graph error on its node, fixes it and saves', async ({ signedIn }) => {
  const page = await signedIn('builder')
  const title = `Canvas probe ${Date.now()}`
  await page.goto('/workflows')
  await expect(page.getByRole('heading', { name: 'Workflows', level: 1 })).toBeVisible()
  await page.getByRole('button', { name: 'New workflow' }).click()
  await page.getByLabel('Title').fill(title)
  await page.getByLabel('Description').fill('Built by drag and drop')
  await page.getByRole('button', { name: 'Create workflow' }).click()

  // the canvas opens on the new (empty) workflow
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible()
  await expect(page.getByTestId('palette-step:start')).toBeVisible()
  await dropOnCanvas(page, 'step:start', 40, 120)
  await dropOnCanvas(page, 'step:condition', 120, 280)
  await dropOnCanvas(page, 'step:end', 200, 440)
  await expect(page.getByTestId('node-condition_1')).toBeVisible()
  await expect(page.getByTestId('unsaved')).toBeVisible()

  await connect(page, page.getByTestId('out-start_1-out'), page.getByTestId('in-condition_1'))
  await connect(page, page.getByTestId('out-condition_1-true'), page.getByTestId('in-end_1'))
  await expect(page.locator('.vue-flow__edge')).toHaveCount(2)
  // the graph rules: the start node takes no incoming edge, so none is drawn
  await connect(page, page.getByTestId('out-condition_1-false'), page.getByTestId('node-start_1'))
  await expect(page.locator('.vue-flow__edge')).toHaveCount(2)

  // a condition without a rule: the server's 422 is shown on that node
  await page.getByRole('button', { name: 'Save' }).click()
  const condition = page.getByTestId('node-condition_1')
  await expect(condition.getByRole('alert')).toContainText('not valid')
  await expect(page.getByTestId('node-start_1').getByRole('alert')).toHaveCount(0)
  await expectAccessible(page, '/workflows/{id} (with an error)')

  // fix it in the node panel (config as JSON), save again
  await condition.click()
  const panel = page.getByRole('complementary', { name: 'Node settings' })
  await panel.getByRole('tab', { name: 'JSON' }).click()
  await panel.getByLabel('Config (JSON)').fill('{"$jsonata": "amount > 100"}')
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByText('Saved.')).toBeVisible()
  await expect(condition.getByRole('alert')).toHaveCount(0)
  await expect(page.getByTestId('unsaved')).toHaveCount(0)
  await page.screenshot({ path: path.join(SHOTS, 'canvas.png') })

  // a reload shows the saved graph where it was left
  await page.reload()
  await expect(page.getByTestId('node-condition_1')).toBeVisible()
  await expect(page.locator('.vue-flow__edge')).toHaveCount(2)

  // the list: filter, duplicate, delete with a warning
  await page.goto('/workflows')
  await page.getByRole('textbox', { name: 'Search' }).fill('Canvas probe')
  await expect(page.getByRole('link', { name: title, exact: true })).toBeVisible()
  await page.getByRole('button', { name: `Duplicate ${title}` }).click()
  await expect(page.getByRole('link', { name: `${title} (copy)` })).toBeVisible()
  await expectAccessible(page, '/workflows')
  await page.screenshot({ path: path.join(SHOTS, 'workflows.png') })
  for (const t of [`${title} (copy)`, title]) {
    await page.getByRole('button', { name: `Delete ${t}` }).click()
    const dialog = page.getByRole('dialog')
    await expect(dialog).toContainText('run history. This cannot be undone.')
    await dialog.getByRole('button', { name: 'Delete workflow' }).click()
    await expect(page.getByRole('link', { name: t, exact: true })).toHaveCount(0)
  }
})

test('the list filters by status and enabled', async ({ signedIn }) => {
  const page = await signedIn('builder')
  const title = `Filter probe ${Date.now()}`
  await page.goto('/workflows')
  await page.getByRole('button', { name: 'New workflow' }).click()
  await page.getByLabel('Title').fill(title)
  await page.getByRole('button', { name: 'Create workflow' }).click()
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible()
  await page.goto('/workflows')
  await page.getByRole('textbox', { name: 'Search' }).fill('Filter probe')
  await expect(page.getByRole('link', { name: title })).toBeVisible()
  await page.getByRole('combobox', { name: 'Status' }).click({ force: true })
  await page.getByRole('option', { name: 'Production' }).click()
  await expect(page.getByRole('link', { name: title })).toHaveCount(0)
  await page.getByRole('combobox', { name: 'Status' }).click({ force: true })
  await page.getByRole('option', { name: 'Draft' }).click()
  await expect(page.getByRole('link', { name: title })).toBeVisible()
  await page.getByRole('combobox', { name: 'Enabled' }).click({ force: true })
  await page.getByRole('option', { name: 'Disabled' }).click()
  await expect(page.getByRole('link', { name: title })).toHaveCount(0)
  await page.getByRole('combobox', { name: 'Enabled' }).click({ force: true })
  await page.getByRole('option', { name: 'Enabled', exact: true }).click()
  await expect(page.getByRole('link', { name: title })).toBeVisible()
  await page.getByRole('button', { name: `Delete ${title}` }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete workflow' }).click()
  await expect(page.getByRole('link', { name: title })).toHaveCount(0)
})

async function apiAs(stack: { url: string }, email: string) {
  const login = await fetch(`${stack.url}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  }).then((r) => r.json())
  return async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${p}`, {
      method, headers: { Authorization: `Bearer ${login.access_token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    expect(res.ok, `${method} ${p}: ${res.status}`).toBe(true)
    return res.status === 204 ? null : res.json()
  }
}

test('a viewer sees workflows and the canvas read-only; a graph without positions is laid out', async ({ signedIn, stack }) => {
  // a workflow in the viewer's first workspace, its graph saved through the API without positions
  const owner = await apiAs(stack, 'owner@acme.test')
  const viewer = await apiAs(stack, 'viewer@acme.test')
  const ws = (await viewer('GET', '/api/me')).workspaces[0].id
  const title = `Viewer probe ${Date.now()}`
  const flow = await owner('POST', `/api/workspaces/${ws}/flows`, {
    title,
    graph: {
      nodes: [
        { id: 's', name: 'start', type: 'start' },
        { id: 'c', name: 'check', type: 'condition', config: { $jsonata: 'amount > 100' } },
        { id: 'e', name: 'done', type: 'end' },
      ],
      edges: [{ from: 's', to: 'c', port: 'out' }, { from: 'c', to: 'e', port: 'true' }],
    },
  })
  try {
    const page = await signedIn('viewer')
    await page.goto('/workflows')
    await expect(page.getByRole('link', { name: title })).toBeVisible()
    await expect(page.getByRole('button', { name: 'New workflow' })).toHaveCount(0)
    await expect(page.getByRole('button', { name: /^(Delete|Duplicate) / })).toHaveCount(0)
    await page.getByRole('link', { name: title }).click()
    await expect(page.getByText('read-only')).toBeVisible()
    await expect(page.getByTestId('node-check')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(2)
    // auto-laid out left to right
    const [s, c, e] = await Promise.all(['start', 'check', 'done'].map((n) => page.getByTestId(`node-${n}`).boundingBox()))
    expect(s!.x).toBeLessThan(c!.x)
    expect(c!.x).toBeLessThan(e!.x)
    await expect(page.getByRole('button', { name: 'Save' })).toHaveCount(0)
    await expect(page.getByLabel('Node palette')).toHaveCount(0)
    await page.getByTestId('node-check').click()
    await expect(page.getByRole('button', { name: 'Delete node' })).toHaveCount(0)
    await expectAccessible(page, '/workflows/{id} (viewer)')
  } finally {
    await owner('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
