// Operations: the metrics dashboard (runs by outcome over time, latency by template, queue
// depth), quarantine with redrive, trigger diagnostics; a viewer reads them without controls.
import { expect, expectAccessible, signIn, test } from './fixtures'
import { apiAs, createFlow, edge, firstWorkspace, node, startTestRun, waitForRun, shotPath } from './runs-api'

test('the dashboard charts the workspace; a quarantined step is redriven from the quarantine view', async ({ signedIn, stack, browser }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const ok = await createFlow(builder, ws, `Ops ok ${Date.now()}`, {
    nodes: [node('start', 'start'), node('shape', 'transform', { output: { a: 1 } }), node('end', 'end')],
    edges: [edge('start', 'shape'), edge('shape', 'end')],
  })
  const flaky = await createFlow(builder, ws, `Ops flaky ${Date.now()}`, {
    nodes: [node('start', 'start'),
      node('callout', 'http_request', { url: 'http://127.0.0.1:1/', retry: { max_attempts: 2, base_delay: 0.2, max_delay: 0.5 } }),
      node('end', 'end')],
    edges: [edge('start', 'callout'), edge('callout', 'end')],
  })
  await waitForRun(builder, ws, (await startTestRun(builder, ws, ok.id)).id, (r) => r.status !== 'running')
  const bad = await startTestRun(builder, ws, flaky.id)
  await waitForRun(builder, ws, bad.id, (r) => r.status !== 'running')

  const page = await signedIn('builder')
  await page.goto('/operations')
  await expect(page.getByRole('heading', { name: 'Monitoring', level: 1 })).toBeVisible()
  await expect.poll(async () => Number(await page.getByTestId('figure-runs').textContent())).toBeGreaterThanOrEqual(2)
  await expect(page.getByRole('img', { name: /^Runs per bucket by outcome/ })).toBeVisible()
  await expect(page.getByRole('img', { name: /^Step latency of/ })).toBeVisible()
  await expect(page.getByTestId('latency-table')).toContainText('http_request')
  await expectAccessible(page, '/operations dashboard')
  await page.screenshot({ path: shotPath('dashboard'), fullPage: true })

  await page.getByRole('tab', { name: 'Quarantine' }).click()
  await expect(page).toHaveURL(/tab=quarantine/)
  const redrive = page.getByRole('button', { name: `Redrive callout of run ${bad.id.slice(0, 8)}` })
  await expect(redrive).toBeVisible()
  await page.getByRole('button', { name: 'Show the error of callout' }).first().click()
  await expectAccessible(page, '/operations quarantine')
  await page.screenshot({ path: shotPath('quarantine') })
  await redrive.click()
  await expect(page.getByTestId('quarantine-notice')).toContainText(`callout of run ${bad.id.slice(0, 8)} was redriven`)
  await expect.poll(async () => (await builder('GET', `/api/workspaces/${ws}/quarantine?run_id=${bad.id}&status=redriven`)).items.length).toBe(1)

  await page.getByRole('tab', { name: 'Trigger diagnostics' }).click()
  await expect(page.getByTestId('trigger-diagnostics')).toBeVisible()
  await expectAccessible(page, '/operations trigger diagnostics')

  // a viewer sees the same views without the redrive control
  const viewer = await (await browser.newContext()).newPage()
  await signIn(viewer, 'viewer@acme.test')
  await viewer.goto('/operations?tab=quarantine')
  await expect(viewer.getByTestId('quarantine')).toBeVisible()
  await expect(viewer.getByTestId('quarantine').locator('table, [data-testid=empty-state]').first()).toBeVisible()
  await expect(viewer.getByRole('button', { name: /^Redrive/ })).toHaveCount(0)
  await viewer.context().close()
})
