// The user's path end to end, on one workflow of its own: built on the canvas by drag and drop
// (webhook → an action on a local fake vendor → condition → two branches → wait_all), a graph
// error marked on its node and fixed, published; its webhook trigger activated and fired with a
// correctly signed delivery; the run followed live to green with each step's output; re-run from
// a node; a run waiting in its delay canceled; a step quarantined during a vendor outage redriven;
// and a viewer opening the workflow, the run and the trigger read-only. Axe on every page.
import { expect, expectAccessible, signIn, test } from './fixtures'
import { connectHandles, dropNode, setNodeConfig } from './editor.helpers'
import { apiAs, firstWorkspace, serveFakeVendor, signStandardWebhook, type FakeVendor } from './runs-api'

let vendor: FakeVendor | null = null
test.beforeAll(async () => { vendor = await serveFakeVendor('httpbin') })
test.afterAll(() => { vendor?.stop() })

test('build, publish, trigger, watch, re-run, cancel, redrive; a viewer reads it all', async ({ signedIn, stack, browser }) => {
  // about a minute on a quiet machine; the bound leaves room for a loaded one (two cores shared by many)
  test.setTimeout(150_000)
  const stamp = Date.now().toString(36)
  const title = `Order journey ${stamp}`
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  // the vendor's connection (the HTTP app, its base URL on the loopback fake)
  const connName = `Fake vendor ${stamp}`
  const conn = await builder('POST', `/api/workspaces/${ws}/connections`, {
    name: connName, app_id: 'builtin:http', settings: { base_url: vendor!.url }, secrets: {},
  })

  // -- a new production workflow, built on the canvas
  const page = await signedIn('builder')
  await page.goto('/workflows')
  await page.getByRole('button', { name: 'New workflow' }).click()
  const create = page.getByRole('dialog')
  await create.getByLabel('Title').fill(title)
  await create.getByRole('combobox', { name: 'Status' }).click({ force: true })
  await page.getByRole('option', { name: 'Production' }).click()
  await create.getByRole('button', { name: 'Create workflow' }).click()
  await expect(page.getByRole('heading', { name: title, level: 1 })).toBeVisible()
  const flowId = new URL(page.url()).pathname.split('/').pop()!

  const start = await dropNode(page, 'step:start', 20, 20, 'start_1')
  const action = await dropNode(page, 'app_action:builtin:http:http_post', 20, 150, 'action_1')
  const check = await dropNode(page, 'step:condition', 20, 290, 'condition_1')
  const hold = await dropNode(page, 'step:delay', 270, 200, 'delay_1')
  const shape = await dropNode(page, 'step:transform', 270, 360, 'transform_1')
  const join = await dropNode(page, 'step:wait_all', 520, 280, 'wait_all_1')
  const end = await dropNode(page, 'step:end', 520, 420, 'end_1')
  for (const [from, port, to] of [[start, 'start_1-out', action], [action, 'action_1-out', check], [check, 'condition_1-true', hold],
    [check, 'condition_1-false', shape], [hold, 'delay_1-out', join], [shape, 'transform_1-out', join], [join, 'wait_all_1-out', end]] as const) {
    await connectHandles(page, from.getByTestId(`out-${port}`), to.getByTestId(/^in-/))
  }
  await expect(page.locator('.vue-flow__edge')).toHaveCount(7)

  // the action posts the webhook's body to the vendor, through the connection picked in its panel
  const panel = await setNodeConfig(page, 'action_1', { input: { path: { path: 'anything/orders' }, body: '{{ body }}' } })
  await panel.getByRole('combobox', { name: /^Connection/ }).click({ force: true })
  await page.getByRole('option', { name: connName }).click()
  // big orders wait a while (how long, the order says); the others get a priority
  await setNodeConfig(page, 'delay_1', { seconds: '{{ json.hold }}' })
  await setNodeConfig(page, 'transform_1', { output: { priority: 'normal' }, mode: 'merge' })
  await panel.getByRole('button', { name: 'Close node settings' }).click()

  // saved without the condition's rule: the server's 422 is marked on that node
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(check.getByRole('alert')).toContainText('not valid')
  await expect(action.getByRole('alert')).toHaveCount(0)
  await expectAccessible(page, 'journey: canvas with a graph error')
  await setNodeConfig(page, 'condition_1', { all: [{ left: '{{ json.total }}', op: 'gt', right: 100 }] })
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByText('Saved.')).toBeVisible()
  await expect(check.getByRole('alert')).toHaveCount(0)

  // publish version 1
  await page.getByRole('button', { name: 'Publish' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Publish version' }).click()
  await expect(page.getByTestId('latest-version')).toHaveText('published: v1')

  // -- its webhook trigger: created inactive, then activated; the secret is shown once
  await page.getByRole('link', { name: 'Triggers of this workflow' }).click()
  await expect(page.getByRole('heading', { name: 'Triggers', level: 1 })).toBeVisible()
  await page.getByRole('button', { name: 'New trigger' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Name').fill('Orders in')
  await dialog.getByRole('checkbox', { name: 'Active' }).uncheck()
  await dialog.getByRole('button', { name: 'Create trigger' }).click()
  const secret = (await page.getByTestId('new-secret').locator('code').textContent())!.trim()
  await page.getByRole('button', { name: 'I have stored it' }).click()
  const hookUrl = (await page.getByTestId('trigger-panel').getByTestId('webhook-url').locator('code').textContent())!.trim()
  const active = page.getByRole('checkbox', { name: 'Orders in active' })
  await expect(active).not.toBeChecked()
  await active.click()
  await expect(active).toBeChecked()
  await expectAccessible(page, 'journey: triggers')
  const triggerUrl = page.url()

  let deliveries = 0
  const fire = async (order: Record<string, unknown>): Promise<string> => {
    const body = JSON.stringify(order)
    const res = await fetch(hookUrl, { method: 'POST', headers: signStandardWebhook(secret, `msg_${stamp}_${++deliveries}`, body), body })
    expect(res.status, await res.clone().text()).toBe(202)
    return (await res.json()).run_id as string
  }

  // -- a big order: the run is followed live on its page and turns green, each step's output shown
  const live = await fire({ order: 'A-1', total: 250, hold: 5 })
  await page.goto(`/runs/${live}`)
  await expect(page.getByTestId('run-status')).toHaveText('running')
  await expect(page.getByTestId('stream-state')).toHaveText('live')
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByTestId('run-node-transform_1')).toHaveAttribute('data-state', 'skipped')
  for (const [name, output] of [['action_1', '"path": "/anything/orders"'], ['condition_1', '"total": 250'], ['delay_1', '"hold": 5'],
    ['wait_all_1', '"total": 250'], ['end_1', '"total": 250']] as const) {
    await expect(page.getByTestId(`run-node-${name}`)).toHaveAttribute('data-state', 'success')
    await page.getByTestId(`run-node-${name}`).click()
    await expect(page.getByTestId('step-detail').getByLabel('Output', { exact: true })).toContainText(output)
  }
  await expectAccessible(page, 'journey: the run, green')

  // re-run from the join: a new run that starts there with the join's prior input, followed on its page
  await page.getByTestId('run-node-wait_all_1').click()
  await page.getByRole('button', { name: 'Re-run from here (wait_all_1)' }).click()
  await expect(page).not.toHaveURL(new RegExp(`/runs/${live}$`))
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByTestId('run-node-end_1')).toHaveAttribute('data-state', 'success')
  const rerunId = new URL(page.url()).pathname.split('/').pop()!
  const rerun = await builder('GET', `/api/workspaces/${ws}/runs/${rerunId}`)
  expect(rerun.rerun_of).toBe(live)
  expect(rerun.steps.filter((s: any) => s.node_id === 'action_1')).toHaveLength(1) // carried over, not called again

  // -- a big order that waits ten minutes: canceled from its page while it waits
  const waiting = await fire({ order: 'A-2', total: 900, hold: 600 })
  await page.goto(`/runs/${waiting}`)
  await expect(page.getByTestId('run-node-delay_1')).toHaveAttribute('data-state', 'success', { timeout: 20_000 })
  await expect(page.getByTestId('run-node-wait_all_1')).toHaveAttribute('data-state', 'queued')
  await page.getByRole('button', { name: 'Cancel run' }).click()
  await expect(page.getByTestId('run-status')).toHaveText('canceled')
  await expect(page.getByTestId('run-node-wait_all_1')).toHaveAttribute('data-state', 'canceled')

  // -- the vendor is unreachable: the action exhausts its retries and is quarantined; once the vendor
  // is back, the step is redriven from the run page and the run ends green
  await builder('PATCH', `/api/workspaces/${ws}/connections/${conn.id}`, { settings: { base_url: 'http://127.0.0.1:1' } })
  const outage = await fire({ order: 'A-3', total: 40 })
  await page.goto(`/runs/${outage}`)
  await expect(page.getByTestId('run-status')).toHaveText('failed', { timeout: 30_000 })
  const quarantined = page.getByTestId('quarantined')
  await expect(quarantined).toContainText('action_1 is in quarantine')
  await expectAccessible(page, 'journey: a quarantined step')
  await builder('PATCH', `/api/workspaces/${ws}/connections/${conn.id}`, { settings: { base_url: vendor!.url } })
  await quarantined.getByRole('button', { name: 'Redrive' }).click()
  await expect(page.getByTestId('notice')).toContainText('action_1 was redriven')
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByTestId('run-node-transform_1')).toHaveAttribute('data-state', 'success')
  await expect(page.getByTestId('run-node-delay_1')).toHaveAttribute('data-state', 'skipped')

  // -- a viewer opens the workflow, the run and the trigger: everything there, nothing editable
  const viewer = await (await browser.newContext()).newPage()
  await signIn(viewer, 'viewer@acme.test')
  await viewer.goto(`/workflows/${flowId}`)
  await expect(viewer.getByRole('heading', { name: title, level: 1 })).toBeVisible()
  await expect(viewer.getByText('read-only')).toBeVisible()
  await expect(viewer.getByTestId('node-condition_1')).toBeVisible()
  await expect(viewer.getByRole('button', { name: /^(Save|Publish|Test run|Undo|Redo)$/ })).toHaveCount(0)
  await expect(viewer.getByLabel('Node palette')).toHaveCount(0)
  await viewer.getByTestId('node-action_1').click()
  const viewerPanel = viewer.getByRole('complementary', { name: 'Node settings' })
  await expect(viewerPanel.getByRole('textbox', { name: 'Name', exact: true })).toHaveAttribute('readonly')
  // every field of the panel (the name, the connection, the generated form) is read-only or disabled
  const editable = await viewerPanel.locator('input, textarea, [contenteditable="true"]').evaluateAll((els) => els
    .filter((e) => !(e as HTMLInputElement).readOnly && !(e as HTMLInputElement).disabled && e.getAttribute('type') !== 'hidden')
    .map((e) => e.outerHTML.slice(0, 120)))
  expect(editable).toEqual([])
  await expect(viewerPanel.getByRole('button', { name: 'Delete node' })).toHaveCount(0)
  await expectAccessible(viewer, 'journey: canvas as a viewer')
  await viewer.goto(`/runs/${live}`)
  await expect(viewer.getByTestId('run-status')).toHaveText('success')
  await expect(viewer.getByRole('button', { name: /^(Cancel run|Re-run|Redrive)$/ })).toHaveCount(0)
  await viewer.getByTestId('run-node-condition_1').click()
  await expect(viewer.getByTestId('step-detail').getByLabel('Output', { exact: true })).toContainText('"total": 250')
  await expect(viewer.getByRole('button', { name: /^Re-run from here/ })).toBeDisabled()
  await expect(viewer.getByTestId('rerun-from-here')).toContainText('Viewers cannot start runs.')
  await expectAccessible(viewer, 'journey: the run as a viewer')
  await viewer.goto(new URL(triggerUrl).pathname + new URL(triggerUrl).search)
  await expect(viewer.getByRole('link', { name: 'Orders in' })).toBeVisible()
  await expect(viewer.getByRole('button', { name: /^(New trigger|Fire|Edit|Delete|Rotate)/ })).toHaveCount(0)
  await expect(viewer.getByRole('checkbox', { name: 'Orders in active' })).toHaveCount(0)
  await expectAccessible(viewer, 'journey: triggers as a viewer')
  await viewer.context().close()
})
