// The workflow's run settings from the canvas: the start payload ({"payload": null} by
// default, stored exactly as written), the input schema, environment variables and
// secret references picked from a connection's fields, whose values never appear.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, firstWorkspace, openCanvas } from './editor.helpers'

test('start payload, input schema, environment and secrets are edited and stored as given', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const slack = (await api('GET', `/api/workspaces/${ws}/connections?app_id=builtin:slack`)).items[0]
  const title = `Settings probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, { title })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await page.getByRole('button', { name: 'Settings' }).click()
    const dialog = page.getByRole('dialog')
    const payload = dialog.getByRole('textbox', { name: 'Start payload' })
    await expect(payload).toContainText('"payload": null')
    await payload.fill('{"payload": {"order": {"id": "o-9", "total": 120}}, "note": "kept as written"}')

    await dialog.getByRole('tab', { name: 'Input schema' }).click()
    await dialog.getByRole('textbox', { name: 'Input schema' })
      .fill('{"type": "object", "properties": {"order": {"type": "object"}}, "required": ["order"]}')

    await dialog.getByRole('tab', { name: /Environment/ }).click()
    await dialog.getByRole('button', { name: 'Add variable' }).click()
    await dialog.getByLabel('Name 1').fill('REGION')
    await dialog.getByLabel('Value 1').fill('eu')
    await dialog.getByRole('button', { name: 'Add variable' }).click()
    await dialog.getByLabel('Name 2').fill('LIMIT')
    await dialog.getByRole('combobox', { name: 'Type 2' }).click({ force: true })
    await page.getByRole('option', { name: 'number' }).click()
    await dialog.getByLabel('Value 2').fill('ten')
    await expect(dialog.getByText('Not a number.')).toBeVisible()
    await expect(dialog.getByRole('button', { name: 'Save settings' })).toBeDisabled()
    await dialog.getByLabel('Value 2').fill('10')
    await expect(dialog.getByRole('button', { name: 'Save settings' })).toBeEnabled()

    await dialog.getByRole('tab', { name: /Secrets/ }).click()
    await dialog.getByRole('button', { name: 'Add secret' }).click()
    await dialog.getByLabel('Secret name 1').fill('SLACK_TOKEN')
    await dialog.getByRole('combobox', { name: 'Connection 1' }).click({ force: true })
    await page.getByRole('option', { name: slack.name }).click()
    await dialog.getByRole('combobox', { name: 'Field 1' }).click({ force: true })
    await page.getByRole('option', { name: 'token' }).click()
    // the masked value of the field is not shown either
    await expect(dialog).not.toContainText('••••')
    await expectAccessible(page, '/workflows/{id} (settings)')
    await dialog.getByRole('button', { name: 'Save settings' }).click()
    await expect(page.getByText('Settings saved.')).toBeVisible()

    const saved = await api('GET', `/api/workspaces/${ws}/flows/${flow.id}`)
    expect(saved.start_payload).toEqual({ payload: { order: { id: 'o-9', total: 120 } }, note: 'kept as written' })
    expect(saved.input_schema.required).toEqual(['order'])
    expect(saved.env).toEqual({ REGION: 'eu', LIMIT: 10 })
    expect(saved.secrets).toEqual({ SLACK_TOKEN: { connection_id: slack.id, field: 'token' } })

    // opened again: what was stored
    await page.getByRole('button', { name: 'Settings' }).click()
    await expect(dialog.getByRole('textbox', { name: 'Start payload' })).toContainText('kept as written')
    await dialog.getByRole('tab', { name: /Secrets/ }).click()
    await expect(dialog.getByLabel('Secret name 1')).toHaveValue('SLACK_TOKEN')
    await dialog.getByRole('button', { name: 'Cancel' }).click()

  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
