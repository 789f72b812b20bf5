// A node's connection and expressions: the picker lists the workspace's connections of
// the action's app (and creates one in place); `{{` completes the fields the node will see,
// env names and — only where a credential goes — secret names; JSONata markers are edited.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, firstWorkspace, openCanvas } from './editor.helpers'

test('connection picker, expression completion and JSONata markers in the node panel', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const connections = (await api('GET', `/api/workspaces/${ws}/connections?app_id=builtin:slack`)).items
  const slack = connections[0]
  const title = `Expressions probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, {
    title,
    start_payload: { payload: { order: { id: 'o-1', total: 120 } } },
    env: { REGION: 'eu' },
    secrets: { SLACK_TOKEN: { connection_id: slack.id, field: 'token' } },
    graph: {
      nodes: [
        { id: 's', name: 'start', type: 'start', ui: { position: { x: 0, y: 100 } } },
        { id: 'p', name: 'post', type: 'action', template: 'builtin:slack:post_message',
          config: { input: { body: { channel: 'C1', text: 'hello' } } }, ui: { position: { x: 300, y: 100 } } },
        { id: 'c', name: 'check', type: 'condition', config: { $jsonata: 'ok = true' }, ui: { position: { x: 600, y: 100 } } },
        { id: 'e', name: 'done', type: 'end', ui: { position: { x: 900, y: 100 } } },
      ],
      edges: [{ from: 's', to: 'p', port: 'out' }, { from: 'p', to: 'c', port: 'out' }, { from: 'c', to: 'e', port: 'true' }],
    },
  })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await page.getByTestId('node-post').click()
    const panel = page.getByRole('complementary', { name: 'Node settings' })

    // the picker: Slack connections only; pick one
    const picker = panel.getByRole('combobox', { name: /Connection \(Slack\)/ })
    await picker.click({ force: true })
    await expect(page.getByRole('option', { name: slack.name })).toBeVisible()
    await expect(page.getByRole('option', { name: 'Status page' })).toHaveCount(0)
    await page.getByRole('option', { name: slack.name }).click()
    await expect(page.getByTestId('unsaved')).toBeVisible()
    // a new connection is created from here, the app already chosen
    await panel.getByRole('button', { name: 'New connection' }).click()
    const dialog = page.getByRole('dialog')
    await expect(dialog.getByText('New connection')).toBeVisible()
    await expect(dialog.getByTestId('connection-app')).toContainText('Slack')
    await dialog.getByRole('button', { name: 'Cancel' }).click()

    // `{{` completion in the config: fields of the start payload, env, and secrets (an action's input may read them)
    await panel.getByRole('tab', { name: 'JSON' }).click()
    const editor = panel.getByLabel('Config (JSON)')
    await editor.fill('{"input": {"body": {"channel": "C1", "text": "Order {{ ord"}}}')
    await page.keyboard.press('End')
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('Control+Space')
    const list = page.getByRole('listbox')
    await expect(list.getByRole('option', { name: /order\.id/ })).toBeVisible()
    await list.getByRole('option', { name: /order\.id/ }).click()
    await expect(editor).toContainText('{{ order.id"')
    await page.keyboard.type(' }} and {{ $')
    await page.keyboard.press('Control+Space')
    await expect(list.getByRole('option', { name: /\$secrets\.SLACK_TOKEN/ })).toBeVisible()
    await expect(list.getByRole('option', { name: /\$env\.REGION/ })).toBeVisible()
    await page.keyboard.press('Escape')
    await expectAccessible(page, '/workflows/{id} (node panel with connection and JSON)')

    // the condition after the action: the action's output fields; JSONata edited in its own field
    await panel.getByRole('button', { name: 'Close node settings' }).click()
    await page.getByTestId('node-check').click()
    await panel.getByRole('tab', { name: 'JSON' }).click()
    await panel.getByLabel('Config (JSON)').fill('{"$jsonata": "{{ "}')
    await page.keyboard.press('End')
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('Control+Space')
    await expect(list.getByRole('option', { name: /^ts/ })).toBeVisible()
    await expect(list.getByRole('option', { name: /\$secrets/ })).toHaveCount(0)
    await page.keyboard.press('Escape')
    await panel.getByLabel('Config (JSON)').fill('{"$jsonata": "ok = true"}')
    const expression = panel.getByRole('region', { name: 'JSONata expressions' }).getByRole('textbox', { name: 'Whole config' })
    await expect(expression).toHaveValue('ok = true')
    await expression.fill('ok = true and $env.REGION = "eu"')
    await expect(panel.getByLabel('Config (JSON)')).toContainText('$env.REGION')

    await page.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByText('Saved.')).toBeVisible()
    const saved = await api('GET', `/api/workspaces/${ws}/flows/${flow.id}`)
    const byName = Object.fromEntries(saved.graph.nodes.map((n: { name: string }) => [n.name, n]))
    expect(byName.post.connection_id).toBe(slack.id)
    expect(byName.post.config.input.body.text).toContain('{{ order.id }} and {{ $')
    expect(byName.check.config).toEqual({ $jsonata: 'ok = true and $env.REGION = "eu"' })
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
