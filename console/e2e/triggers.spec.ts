// Triggers: a webhook created from the page (secret shown once), a correctly signed delivery
// and a forged one, both in the delivery history; a schedule with its reading and next fire
// times; a manual fire; activate / deactivate / delete; a viewer reads without controls; a
// delivery opened to show its request (signature and credentials masked, the body).
import { createHmac } from 'node:crypto'
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, createFlow, edge, firstWorkspace, node, shotPath } from './runs-api'

function signStandard(secret: string, id: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}`, 'Content-Type': 'application/json' }
}

test('a webhook trigger: secret shown once, signed and forged deliveries, the run it started', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const title = `Hook probe ${Date.now()}`
  const flow = await createFlow(builder, ws, title, {
    nodes: [node('start', 'start'), node('shape', 'transform', { output: { order: '{{ body.order }}' } }), node('end', 'end')],
    edges: [edge('start', 'shape'), edge('shape', 'end')],
  })
  const page = await signedIn('builder')
  await page.goto(`/triggers?workflow=${flow.id}`)
  await expect(page.getByRole('heading', { name: 'Triggers', level: 1 })).toBeVisible()
  await expect(page.getByTestId('empty-state')).toBeVisible()
  await page.getByRole('button', { name: 'New trigger' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Name').fill('Orders hook')
  await expectAccessible(page, 'new trigger dialog')
  await dialog.getByRole('button', { name: 'Create trigger' }).click()
  const secret = (await page.getByTestId('new-secret').locator('code').textContent())!.trim()
  expect(secret).toMatch(/^whsec_/)
  await page.getByRole('button', { name: 'I have stored it' }).click()
  const panel = page.getByTestId('trigger-panel')
  await expect(panel.getByTestId('masked-secret')).not.toContainText(secret.slice(6, 20))
  const testUrl = (await panel.getByTestId('webhook-test-url').locator('code').textContent())!.trim()
  expect(testUrl).toMatch(new RegExp(`/webhooks/${ws}/.+/test$`))
  await expect(page.locator('body')).not.toContainText(secret)

  // a correctly signed delivery starts a test run; a forged one is refused and recorded
  const body = JSON.stringify({ order: 'A-1' })
  const good = await fetch(testUrl, { method: 'POST', headers: signStandard(secret, `msg_${Date.now()}`, body), body })
  expect(good.status).toBe(202)
  const forged = await fetch(testUrl, { method: 'POST', headers: signStandard('whsec_' + Buffer.alloc(32, 7).toString('base64'), 'msg_forged', body), body })
  expect(forged.status).toBe(401)
  await panel.getByRole('button', { name: 'Reload the trigger' }).click()
  const deliveries = panel.getByTestId('deliveries')
  await expect(deliveries).toContainText('started')
  await expect(deliveries).toContainText('bad_signature')
  await expect(panel.getByTestId('deliveries-24h')).toContainText('bad_signature 1')
  await expectAccessible(page, '/triggers with a webhook')
  await page.screenshot({ path: shotPath('triggers'), fullPage: true })
  await deliveries.getByRole('link').first().click()
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByLabel('Run output', { exact: true })).toContainText('"order": "A-1"')

  // deactivate: deliveries are recorded as disabled
  await page.goto(`/triggers?workflow=${flow.id}`)
  const deactivated = page.waitForResponse((r) => r.url().endsWith('/deactivate') && r.ok())
  await page.getByRole('checkbox', { name: 'Orders hook active' }).click()
  await deactivated
  await expect(page.getByRole('checkbox', { name: 'Orders hook active' })).not.toBeChecked()
  const off = await fetch(testUrl, { method: 'POST', headers: signStandard(secret, `msg_off_${Date.now()}`, body), body })
  expect(off.status).toBe(409)
  await page.getByRole('link', { name: 'Orders hook' }).click()
  await expect(page.getByTestId('deliveries')).toContainText('disabled')
  // delete
  await page.getByRole('button', { name: 'Delete Orders hook' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete trigger' }).click()
  await expect(page.getByTestId('empty-state')).toBeVisible()
})

test('a delivery opens to show its request: the signature and credentials masked, the body', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Delivery probe ${Date.now()}`, {
    nodes: [node('start', 'start'), node('end', 'end')], edges: [edge('start', 'end')],
  })
  const trigger = await builder('POST', `/api/workspaces/${ws}/flows/${flow.id}/triggers`, { kind: 'webhook', name: 'Inspected hook' })
  const secret: string = trigger.webhook.new_secret
  // a signed delivery to the test URL, carrying a credential header and a secret-looking body field
  const body = JSON.stringify({ order: 'B-7', password: 'hunter2-in-the-body' })
  const headers = { ...signStandard(secret, `msg_inspect_${Date.now()}`, body), Authorization: 'Bearer tok_should_never_show_123' }
  const sent = await fetch(trigger.webhook.test_url, { method: 'POST', headers, body })
  expect(sent.status).toBe(202)

  const page = await signedIn('builder')
  await page.goto(`/triggers?workflow=${flow.id}&trigger=${trigger.id}`) // as the operations' diagnostics link it
  const panel = page.getByTestId('trigger-panel')
  await expect(panel).toContainText('Inspected hook')
  await expect(panel.getByTestId('deliveries')).toContainText('started')
  await panel.getByRole('button', { name: /^Open the delivery started/ }).click()
  const detail = page.getByTestId('delivery-detail')
  await expect(detail.getByTestId('delivery-outcome')).toHaveText('started')
  const headerTable = detail.getByTestId('delivery-headers')
  await expect(headerTable.getByRole('row', { name: /webhook-signature/ })).toContainText('••••')
  await expect(headerTable.getByRole('row', { name: /authorization/ })).toContainText('Bearer ••••')
  await expect(headerTable.getByRole('row', { name: /webhook-id/ })).toContainText('msg_inspect_')
  const shownBody = detail.getByLabel('Request body', { exact: true })
  await expect(shownBody).toContainText('"order": "B-7"')
  await expect(shownBody).toContainText('"password": "••••"')
  await expect(detail).not.toContainText('hunter2-in-the-body')
  await expect(detail).not.toContainText('tok_should_never_show_123')
  await expect(page.locator('body')).not.toContainText(secret)
  await expect(detail.getByRole('button', { name: 'Copy the request' })).toBeVisible()
  await expectAccessible(page, 'delivery detail')
  await page.screenshot({ path: shotPath('trigger-delivery') })
  await detail.getByRole('button', { name: 'Close' }).click()
  await expect(detail).toBeHidden()
})

test('a schedule shows its reading and next fire times; a manual trigger fires a run', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Cron probe ${Date.now()}`, {
    nodes: [node('start', 'start'), node('end', 'end')], edges: [edge('start', 'end')],
  })
  const page = await signedIn('builder')
  await page.goto(`/triggers?workflow=${flow.id}`)
  await page.getByRole('button', { name: 'New trigger' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('combobox', { name: 'Kind' }).click({ force: true })
  await page.getByRole('option', { name: 'Schedule (cron)' }).click()
  await dialog.getByLabel('Name').fill('Weekday mornings')
  await dialog.getByLabel('Cron expression').fill('61 * * * *')
  await expect(dialog.getByTestId('cron-preview-error')).toContainText('/cron')
  await dialog.getByLabel('Cron expression').fill('30 8 * * 1-5')
  await expect(dialog.getByTestId('cron-human')).toHaveText('At 08:30, Monday through Friday')
  await expect(dialog.getByTestId('cron-preview').locator('li')).toHaveCount(5)
  await expectAccessible(page, 'cron trigger dialog')
  await page.screenshot({ path: shotPath('trigger-cron') })
  await dialog.getByRole('button', { name: 'Create trigger' }).click()
  await page.getByRole('link', { name: 'Weekday mornings' }).click()
  await expect(page.getByTestId('trigger-upcoming').locator('li')).toHaveCount(3)

  // a manual trigger, fired from the page in test mode
  await page.getByRole('button', { name: 'New trigger' }).click()
  await dialog.getByRole('combobox', { name: 'Kind' }).click({ force: true })
  await page.getByRole('option', { name: 'Manual' }).click()
  await dialog.getByLabel('Name').fill('By hand')
  await dialog.getByRole('button', { name: 'Create trigger' }).click()
  await page.getByRole('button', { name: 'Fire By hand' }).click()
  await page.getByRole('dialog').getByLabel(/^Input/).fill('{"hello": "world"}')
  await page.getByRole('dialog').getByRole('button', { name: 'Fire', exact: true }).click()
  await expect(page.getByTestId('fired')).toContainText('Delivery started')
  await page.getByTestId('fired').getByRole('link', { name: 'Open the run' }).click()
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByLabel('Run input', { exact: true })).toContainText('"hello": "world"')

  // a viewer reads the triggers without controls
  const viewerPage = await (await page.context().browser()!.newContext()).newPage()
  const { signIn } = await import('./fixtures')
  await signIn(viewerPage, 'viewer@acme.test')
  await viewerPage.goto(`/triggers?workflow=${flow.id}`)
  await expect(viewerPage.getByRole('link', { name: 'Weekday mornings' })).toBeVisible()
  await expect(viewerPage.getByRole('button', { name: 'New trigger' })).toHaveCount(0)
  await expect(viewerPage.getByRole('button', { name: /^(Fire|Edit|Delete) / })).toHaveCount(0)
  await viewerPage.context().close()
})
