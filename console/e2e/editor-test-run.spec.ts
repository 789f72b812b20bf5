// A test run from the canvas: started with the start payload's payload (edited first),
// each node's state drawn on it live, and each node's input and output of the last run
// in its panel; the fields of that run then complete expressions.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, firstWorkspace, openCanvas } from './editor.helpers'

test('test run of the draft: live node states, each node’s input and output', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const title = `Test run probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, {
    title,
    start_payload: { payload: { order: { id: 'o-1', total: 120 } } },
    graph: {
      nodes: [
        { id: 's', name: 'start', type: 'start', ui: { position: { x: 0, y: 100 } } },
        { id: 't', name: 'double', type: 'transform',
          config: { output: { $jsonata: '$merge([$, {"doubled": order.total * 2}])' } }, ui: { position: { x: 300, y: 100 } } },
        { id: 'c', name: 'big', type: 'condition', config: { $jsonata: 'doubled > 1000' }, ui: { position: { x: 600, y: 100 } } },
        { id: 'y', name: 'yes', type: 'end', ui: { position: { x: 900, y: 0 } } },
        { id: 'n', name: 'no', type: 'end', ui: { position: { x: 900, y: 220 } } },
      ],
      edges: [{ from: 's', to: 't' }, { from: 't', to: 'c' }, { from: 'c', to: 'y', port: 'true' }, { from: 'c', to: 'n', port: 'false' }],
    },
  })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await page.getByRole('button', { name: 'Test run' }).click()
    const dialog = page.getByRole('dialog')
    const input = dialog.getByRole('textbox', { name: 'Input' })
    await expect(input).toContainText('"total": 120')
    await input.fill('{"order": {"id": "o-2", "total": 300}}')
    await dialog.getByRole('button', { name: 'Start test run' }).click()

    // the run turns green live; the branch not taken is skipped
    await expect(page.getByTestId('test-run')).toContainText('Test run: success', { timeout: 30_000 })
    await expect(page.getByTestId('node-double').getByTestId('node-run-status')).toHaveText('success')
    await expect(page.getByTestId('node-no').getByTestId('node-run-status')).toHaveText('success')
    await expect(page.getByRole('group', { name: /^double, transform step; last run: success/ })).toBeVisible()
    await expect(page.getByTestId('test-run').getByRole('link', { name: 'Open the run' })).toHaveAttribute('href', /\/runs\/[0-9a-f-]{36}$/)

    // the node's input and output of that run
    await page.getByTestId('node-double').click()
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    const last = panel.getByRole('region', { name: 'Last run of this node' })
    await expect(last.getByTestId('last-run-status')).toContainText('success · 1 attempt')
    await expect(last.getByTestId('last-run-json')).toContainText('"doubled": 600')
    await last.getByRole('tab', { name: 'Input' }).click()
    await expect(last.getByTestId('last-run-json')).toContainText('"o-2"')
    await expect(last.getByTestId('last-run-json')).not.toContainText('doubled')
    // (the config as JSON: JSON Forms' array "Add" button leaves a tooltip without text behind once hovered)
    await panel.getByRole('tab', { name: 'JSON' }).click()
    await expectAccessible(page, '/workflows/{id} (after a test run)')

    // the condition now completes the fields it saw in that run
    await panel.getByRole('button', { name: 'Close node settings' }).click()
    await page.getByTestId('node-big').click()
    await panel.getByRole('tab', { name: 'JSON' }).click()
    await panel.getByLabel('Config (JSON)').fill('{"$jsonata": "{{ dou"}')
    await page.keyboard.press('End')
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('Control+Space')
    await expect(page.getByRole('listbox').getByRole('option', { name: /^doubled/ })).toBeVisible()
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
