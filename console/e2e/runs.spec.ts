// The run monitor: the runs list and its filters, a run followed live over the stream,
// cancel and re-run, redrive from quarantine, and a 1,000-step fan-out that stays usable.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, createFlow, edge, firstWorkspace, node, startTestRun, waitForRun, shotPath } from './runs-api'

test('a run turns green live on its page, with each step\'s output', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Live probe ${Date.now()}`, {
    nodes: [node('start', 'start'), node('wait', 'delay', { seconds: 8 }),
      node('check', 'condition', { all: [{ left: '{{ total }}', op: 'gt', right: 100 }] }),
      node('large', 'transform', { output: { priority: 'high' }, mode: 'merge' }),
      node('small', 'transform', { output: { priority: 'normal' }, mode: 'merge' }),
      node('join', 'wait_all'), node('end', 'end')],
    edges: [edge('start', 'wait'), edge('wait', 'check'), edge('check', 'large', 'true'), edge('check', 'small', 'false'),
      edge('large', 'join'), edge('small', 'join'), edge('join', 'end')],
  })
  const page = await signedIn('builder')
  const run = await startTestRun(builder, ws, flow.id, { total: 250 })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('run-status')).toHaveText('running')
  await expect(page.getByTestId('stream-state')).toHaveText('live')
  // the stream brings the rest: the run ends green without a reload
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  await expect(page.getByTestId('run-node-large')).toHaveAttribute('data-state', 'success')
  await expect(page.getByTestId('run-node-small')).toHaveAttribute('data-state', 'skipped')
  await expect(page.getByTestId('run-node-end')).toHaveAttribute('data-state', 'success')
  // the timeline has a row per step instance; the waiting of the delay shows as its own bar
  await expect(page.getByTestId('run-timeline')).toHaveAttribute('data-rows', '7')
  // a node opens its attempt: output, idempotency key, timings
  await page.getByTestId('run-node-large').click()
  const detail = page.getByTestId('step-detail')
  await expect(detail.getByTestId('step-status')).toHaveText('success')
  await expect(detail.getByLabel('Output', { exact: true })).toContainText('"priority": "high"')
  await expect(detail).toContainText(`${run.id}:large:1`)
  await expect(page.getByLabel('Run output', { exact: true })).toContainText('"priority": "high"')
  // the join shows where each branch came from: one arrived, the branch not taken skipped
  await page.getByTestId('run-node-join').click()
  await expect(detail.getByTestId('arrivals')).toContainText('large: arrived')
  await expect(detail.getByTestId('arrivals')).toContainText('small: skipped')
  await expectAccessible(page, '/runs/{id}')
  await page.screenshot({ path: shotPath('run-monitor'), fullPage: true })

  // re-run from the page: a new run of the same version, followed on its own page
  await page.getByRole('button', { name: 'Re-run', exact: true }).click()
  await expectAccessible(page, 're-run dialog')
  await page.getByRole('button', { name: 'Start the new run' }).click()
  await expect(page).not.toHaveURL(new RegExp(`/runs/${run.id}$`))
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 30_000 })
  expect(page.url()).toMatch(/\/runs\/[0-9a-f-]{36}$/)
})

test('cancel a run that waits in a delay step', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Cancel probe ${Date.now()}`, {
    nodes: [node('start', 'start'), node('pause', 'delay', { seconds: 600 }), node('end', 'end')],
    edges: [edge('start', 'pause'), edge('pause', 'end')],
  })
  const run = await startTestRun(builder, ws, flow.id)
  const page = await signedIn('builder')
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('run-node-pause')).toHaveAttribute('data-state', 'success', { timeout: 20_000 })
  await expect(page.getByTestId('run-node-end')).toHaveAttribute('data-state', 'queued')
  await page.getByRole('button', { name: 'Cancel run' }).click()
  await expect(page.getByTestId('run-status')).toHaveText('canceled')
  await expect(page.getByTestId('run-node-end')).toHaveAttribute('data-state', 'canceled')
  await expect(page.getByRole('button', { name: 'Cancel run' })).toHaveCount(0)
})

test('the runs list filters by workflow and status, and opens a run; a viewer gets no controls', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const title = `List probe ${Date.now()}`
  const flow = await createFlow(builder, ws, title, {
    nodes: [node('start', 'start'), node('boom', 'http_request', { url: 'http://127.0.0.1:1/', retry: { max_attempts: 1 } }), node('end', 'end')],
    edges: [edge('start', 'boom'), edge('boom', 'end')],
  })
  const failed = await startTestRun(builder, ws, flow.id)
  await waitForRun(builder, ws, failed.id, (r) => r.status !== 'running')
  const page = await signedIn('viewer')
  await page.goto(`/runs?workflow=${flow.id}`)
  await expect(page.getByRole('heading', { name: 'Runs', level: 1 })).toBeVisible()
  const table = page.getByTestId('runs-table')
  await expect(table.getByRole('link', { name: failed.id.slice(0, 8) })).toBeVisible()
  await expect(table).toContainText(title)
  await page.getByRole('combobox', { name: 'Status' }).click({ force: true })
  await page.getByRole('option', { name: 'success' }).click()
  await expect(page).toHaveURL(/status=success/)
  await expect(page.getByTestId('empty-state')).toBeVisible()
  await page.getByRole('button', { name: 'Clear', exact: true }).click()
  await expect(table.getByRole('link', { name: failed.id.slice(0, 8) })).toBeVisible()
  await expectAccessible(page, '/runs')
  await page.screenshot({ path: shotPath('runs') })
  await table.getByRole('link', { name: failed.id.slice(0, 8) }).click()
  await expect(page.getByTestId('run-status')).toHaveText('failed')
  await expect(page.getByTestId('run-node-boom')).toHaveAttribute('data-state', 'failed')
  await expect(page.getByRole('button', { name: /Cancel run|Re-run|Redrive/ })).toHaveCount(0)
})

test('redrive a quarantined step from the run page', async ({ signedIn, stack }) => {
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Quarantine probe ${Date.now()}`, {
    nodes: [node('start', 'start'),
      node('flaky', 'http_request', { url: 'http://127.0.0.1:1/', retry: { max_attempts: 2, base_delay: 0.2, max_delay: 0.5 } }),
      node('end', 'end')],
    edges: [edge('start', 'flaky'), edge('flaky', 'end')],
  })
  const run = await startTestRun(builder, ws, flow.id)
  await waitForRun(builder, ws, run.id, (r) => r.status !== 'running')
  const page = await signedIn('builder')
  await page.goto(`/runs/${run.id}`)
  const alert = page.getByTestId('quarantined')
  await expect(alert).toContainText('flaky is in quarantine after 2 attempts')
  await expectAccessible(page, '/runs/{id} with a quarantined step')
  await alert.getByRole('button', { name: 'Redrive' }).click()
  await expect(page.getByTestId('notice')).toContainText('flaky was redriven: a new attempt is queued.')
  // the redriven attempt runs (and, the address still refusing, fails again)
  await expect.poll(async () => (await builder('GET', `/api/workspaces/${ws}/runs/${run.id}`)).steps
    .filter((s: any) => s.node_id === 'flaky').length, { timeout: 20_000 }).toBeGreaterThan(2)
})

test('a for-each run over 1,000 items opens, updates and scrolls without freezing the page', async ({ signedIn, stack }) => {
  test.setTimeout(240_000)
  const builder = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(builder)
  const flow = await createFlow(builder, ws, `Fan-out probe ${Date.now()}`, {
    nodes: [node('start', 'start'), node('each', 'for_each', { items: '{{ list }}' }),
      node('double', 'transform', { output: { twice: '{{ item }}' } }), node('join', 'wait_all'), node('end', 'end')],
    edges: [edge('start', 'each'), edge('each', 'double', 'item'), edge('double', 'join'), edge('join', 'end')],
  })
  const run = await startTestRun(builder, ws, flow.id, { list: Array.from({ length: 1000 }, (_, i) => i) })
  const page = await signedIn('builder')
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('run-node-double')).toBeVisible({ timeout: 30_000 })
  // while the stream delivers thousands of events the page keeps answering: the longest gap
  // between animation frames over 3 seconds stays bounded
  const worstFrame = await page.evaluate(() => new Promise<number>((resolve) => {
    let last = performance.now()
    let worst = 0
    const end = last + 3000
    const tick = (t: number) => { worst = Math.max(worst, t - last); last = t; if (t < end) requestAnimationFrame(tick); else resolve(worst) }
    requestAnimationFrame(tick)
  }))
  console.log(`1,000-item run: longest frame gap while streaming ${Math.round(worstFrame)} ms`)
  expect(worstFrame).toBeLessThan(2000)
  await expect(page.getByTestId('run-status')).toHaveText('success', { timeout: 180_000 })
  await expect(page.getByTestId('run-node-double')).toContainText('1000 success')
  await expect(page.getByTestId('run-timeline')).toHaveAttribute('data-rows', '1004')
  await page.screenshot({ path: shotPath('run-fanout'), fullPage: true })
  // the attempts list is virtualised: ~1,004 attempts, a few dozen rows in the DOM
  await expect(page.getByTestId('step-count')).toHaveText('1004 attempts')
  const list = page.getByTestId('step-list')
  const rows = await list.locator('tbody tr').count()
  expect(rows).toBeLessThan(80)
  const started = Date.now()
  await list.locator('.v-table__wrapper').evaluate((el) => { el.scrollTop = el.scrollHeight })
  await expect(list.getByText('end', { exact: true })).toBeVisible()
  console.log(`1,000-item run: ${rows} rows in the DOM; scrolled to the last attempt in ${Date.now() - started} ms`)
  // a node filters the list to its instances
  await page.getByTestId('run-node-double').click()
  await expect(page.getByTestId('step-count')).toHaveText('1000 attempts')
  await expect(page.getByTestId('step-detail')).toBeVisible()
})
