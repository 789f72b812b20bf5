// The canvas from the keyboard and its undo/redo: arrow keys walk between nodes, Enter
// opens a node's settings, Escape closes them, Delete removes a node, Ctrl+Z / Ctrl+Shift+Z
// and the toolbar buttons undo and redo every kind of edit; an edge drawn from the panel.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, dropOnCanvas, firstWorkspace, openCanvas, START_CHECK_END } from './editor.helpers'

test('undo and redo cover adding, connecting, moving and deleting nodes', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const title = `Undo probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, { title })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    const undo = page.getByRole('button', { name: 'Undo' })
    const redo = page.getByRole('button', { name: 'Redo' })
    await expect(undo).toBeDisabled()

    await dropOnCanvas(page, 'step:start', 60, 120)
    await dropOnCanvas(page, 'step:end', 420, 120)
    await expect(page.getByTestId('node-end_1')).toBeVisible()
    // an edge drawn from the node panel, by keyboard-reachable controls
    await page.getByTestId('node-start_1').click()
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    await panel.getByRole('combobox', { name: 'Connect to' }).click({ force: true })
    await page.getByRole('option', { name: 'end_1' }).click()
    await panel.getByRole('button', { name: 'Connect' }).click()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(1)
    await expect(panel.getByText('out → end_1')).toBeVisible()

    // undo the edge, then the second node, then the first; redo brings them back in order
    await undo.click()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(0)
    await undo.click()
    await expect(page.getByTestId('node-end_1')).toHaveCount(0)
    await page.keyboard.press('Control+z')
    await expect(page.getByTestId('node-start_1')).toHaveCount(0)
    await expect(page.getByTestId('unsaved')).toHaveCount(0)
    await expect(undo).toBeDisabled()
    await redo.click()
    await expect(page.getByTestId('node-start_1')).toBeVisible()
    await page.keyboard.press('Control+Shift+z')
    await page.keyboard.press('Control+y')
    await expect(page.getByTestId('node-end_1')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(1)
    await expect(redo).toBeDisabled()

    // a deleted node comes back with its edge
    await page.getByTestId('node-end_1').click()
    await page.getByRole('button', { name: 'Delete node' }).click()
    await expect(page.getByTestId('node-end_1')).toHaveCount(0)
    await expect(page.locator('.vue-flow__edge')).toHaveCount(0)
    await undo.click()
    await expect(page.getByTestId('node-end_1')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(1)

    // a config edit and a rename are one step each
    await page.getByTestId('node-end_1').click()
    await panel.getByLabel('Name').fill('finish')
    await expect(page.getByTestId('node-finish')).toBeVisible()
    await page.waitForTimeout(400) // let the edit settle into its own step
    await undo.click()
    await expect(page.getByTestId('node-end_1')).toBeVisible()
    await expect(page.getByTestId('node-finish')).toHaveCount(0)

    await page.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByText('Saved.')).toBeVisible()
    const saved = await api('GET', `/api/workspaces/${ws}/flows/${flow.id}`)
    expect(saved.graph.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['end_1', 'start_1'])
    expect(saved.graph.edges).toHaveLength(1)
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})

test('the canvas is used from the keyboard: walk, open, close, move, delete, shortcuts', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const title = `Keyboard probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, { title, graph: START_CHECK_END })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await expect(page.locator('.vue-flow__edge')).toHaveCount(3)
    // nodes carry accessible names
    const check = page.getByRole('group', { name: 'check, condition step' })
    await expect(check).toBeVisible()

    // Tab reaches a node; arrows walk the graph by position
    await page.getByTestId('node-start').click()
    await page.keyboard.press('Escape')
    await expect(page.getByRole('complementary', { name: 'Node settings' })).toHaveCount(0)
    await expect(page.getByRole('group', { name: 'start, start step' })).toBeFocused()
    await page.keyboard.press('ArrowRight')
    await expect(check).toBeFocused()
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    await expect(panel.getByRole('heading', { name: 'check · condition' })).toBeVisible()
    await page.keyboard.press('ArrowRight')
    await expect(page.getByRole('group', { name: 'big, end step' })).toBeFocused()
    await page.keyboard.press('ArrowDown')
    await expect(page.getByRole('group', { name: 'small, end step' })).toBeFocused()
    await page.keyboard.press('ArrowLeft')
    await expect(check).toBeFocused()

    // Enter opens the settings with the focus in them; Escape returns to the node
    await page.keyboard.press('Enter')
    await expect(panel.getByLabel('Name')).toBeFocused()
    await page.keyboard.press('Escape')
    await expect(panel).toHaveCount(0)
    await expect(check).toBeFocused()

    // Shift+arrow moves the node; Ctrl+Z puts it back
    const before = await check.boundingBox()
    await page.keyboard.press('Shift+ArrowDown')
    await page.keyboard.press('Shift+ArrowDown')
    await expect.poll(async () => (await check.boundingBox())!.y).toBeGreaterThan(before!.y + 10)
    await expect(page.getByTestId('unsaved')).toBeVisible()
    await page.keyboard.press('Control+z')
    await expect.poll(async () => Math.round((await check.boundingBox())!.y)).toBe(Math.round(before!.y))
    await expect(page.getByTestId('unsaved')).toHaveCount(0)

    // Delete removes the focused node and its edges; undo restores both
    await page.keyboard.press('ArrowRight')
    await expect(page.getByRole('group', { name: 'big, end step' })).toBeFocused()
    await page.keyboard.press('Delete')
    await expect(page.getByTestId('node-big')).toHaveCount(0)
    await expect(page.locator('.vue-flow__edge')).toHaveCount(2)
    await page.keyboard.press('Control+z')
    await expect(page.getByTestId('node-big')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(3)

    // the shortcuts are listed
    await page.keyboard.press('?')
    const help = page.getByRole('dialog')
    await expect(help.getByText('select the nearest node in that direction')).toBeVisible()
    await expectAccessible(page, '/workflows/{id} (keyboard shortcuts)')
    await help.getByRole('button', { name: 'Close' }).click()
    await expectAccessible(page, '/workflows/{id} (keyboard)')
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
