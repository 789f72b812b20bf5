// Test as you build: after a test run, a node is changed and re-run from where it is, with the
// input it received, without running again what came before it; a node that did not run says why
// it cannot be re-run.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, firstWorkspace, openCanvas, setNodeConfig } from './editor.helpers'

test('re-run from a node of the last test run, after changing it', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const title = `Re-run probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, {
    title,
    start_payload: { payload: { total: 120 } },
    graph: {
      nodes: [
        { id: 's', name: 'start', type: 'start', ui: { position: { x: 0, y: 100 } } },
        { id: 'c', name: 'big', type: 'condition', config: { $jsonata: 'total > 100' }, ui: { position: { x: 260, y: 100 } } },
        { id: 't', name: 'label', type: 'transform', config: { output: { size: 'large' }, mode: 'merge' }, ui: { position: { x: 520, y: 0 } } },
        { id: 'y', name: 'done', type: 'end', ui: { position: { x: 780, y: 0 } } },
        { id: 'n', name: 'small', type: 'end', ui: { position: { x: 520, y: 220 } } },
      ],
      edges: [{ from: 's', to: 'c' }, { from: 'c', to: 't', port: 'true' }, { from: 'c', to: 'n', port: 'false' }, { from: 't', to: 'y' }],
    },
  })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await page.getByRole('button', { name: 'Test run' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Start test run' }).click()
    await expect(page.getByTestId('test-run')).toContainText('Test run: success', { timeout: 30_000 })
    const firstRun = await page.getByTestId('test-run').getByRole('link', { name: 'Open the run' }).getAttribute('href')

    // the branch not taken: nothing to re-run it with
    await page.getByTestId('node-small').click()
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    await expect(panel.getByRole('button', { name: 'Re-run from here (small)' })).toBeDisabled()
    await expect(panel.getByTestId('rerun-from-here')).toContainText('This node did not run')

    // change the node, re-run from it: it runs its new config on the input it had
    const last = panel.getByRole('region', { name: 'Last run of this node' })
    await setNodeConfig(page, 'label', { output: { size: 'huge' }, mode: 'merge' })
    await expect(last.getByTestId('last-run-json')).toContainText('"size": "large"')
    await expectAccessible(page, '/workflows/{id} (re-run from here)')
    await panel.getByRole('button', { name: 'Re-run from here (label)' }).click()
    await expect(page.getByTestId('test-run')).toContainText('Re-run from label: success', { timeout: 30_000 })
    await expect(last.getByTestId('last-run-json')).toContainText('"size": "huge"')
    await last.getByRole('tab', { name: 'Input' }).click()
    await expect(last.getByTestId('last-run-json')).toContainText('"total": 120')
    await expect(page.getByTestId('unsaved')).toHaveCount(0) // saved first
    // a new run, and the steps before the node were carried over from the first one, not run again
    const href = await page.getByTestId('test-run').getByRole('link', { name: 'Open the run' }).getAttribute('href')
    expect(href).not.toBe(firstRun)
    const rerun = await api('GET', `/api/workspaces/${ws}${href!}`)
    expect(rerun.rerun_of).toBe(firstRun!.split('/').pop())
    expect(rerun.steps.filter((s: any) => s.node_id === 'c')).toHaveLength(1)
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
