// Publish from the canvas, the versions list, a version opened read-only, and the
// side-by-side diff of two versions (and of a version and the draft).
import type { Page } from '@playwright/test'
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, firstWorkspace, openCanvas, START_CHECK_END } from './editor.helpers'

/** Choose in one of the compare selects (each has its own list of the same options). */
async function pick(page: Page, select: 'From' | 'To', option: string): Promise<void> {
  await page.getByRole('dialog').getByRole('combobox', { name: select }).click({ force: true })
  await page.getByRole('listbox', { name: select }).getByRole('option', { name: option }).click()
}

test('publish, list versions, open one read-only and compare two', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const title = `Versions probe ${Date.now()}`
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, { title, graph: START_CHECK_END })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, title)
    await expect(page.getByTestId('latest-version')).toHaveText('not published')
    await expect(page.getByRole('link', { name: 'Triggers of this workflow' })).toHaveAttribute('href', `/triggers?workflow=${flow.id}`)

    // version 1: the graph as created
    await page.getByRole('button', { name: 'Publish', exact: true }).click()
    let dialog = page.getByRole('dialog')
    await dialog.getByLabel('Note (optional)').fill('first cut')
    await dialog.getByRole('button', { name: 'Publish version' }).click()
    await expect(page.getByText('Published version 1.')).toBeVisible()
    await expect(page.getByTestId('latest-version')).toHaveText('published: v1')

    // change the draft (a rule and a rename), publish unsaved: it is saved first
    await page.getByTestId('node-check').click()
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    await panel.getByLabel('Name').fill('check_amount')
    await panel.getByRole('region', { name: 'JSONata expressions' }).getByRole('textbox').fill('amount > 500')
    await page.getByRole('button', { name: 'Publish', exact: true }).click()
    dialog = page.getByRole('dialog')
    await expect(dialog).toContainText('draft (saved first)')
    await dialog.getByRole('button', { name: 'Publish version' }).click()
    await expect(page.getByText('Published version 2.')).toBeVisible()
    await expect(page.getByTestId('unsaved')).toHaveCount(0)

    // the list, and the diff of version 1 → version 2
    await page.getByRole('button', { name: 'Versions' }).click()
    dialog = page.getByRole('dialog')
    await expect(dialog.getByRole('row', { name: /first cut/ })).toBeVisible()
    await pick(page, 'From', 'Version 1 — first cut')
    await pick(page, 'To', 'Version 2')
    const diff = dialog.getByTestId('version-diff')
    await expect(diff.getByRole('row', { name: /check_amount · name/ })).toContainText('"check"')
    await expect(diff.getByRole('row', { name: /check_amount · config\/\$jsonata/ })).toContainText('"amount > 100"')
    await expect(diff.getByRole('row', { name: /check_amount · config\/\$jsonata/ })).toContainText('"amount > 500"')
    await expectAccessible(page, '/workflows/{id} (versions and diff)')
    // version 2 and the saved draft are the same graph
    await pick(page, 'From', 'Version 2')
    await pick(page, 'To', 'Draft (saved)')
    await expect(diff).toContainText('have the same graph')

    // version 1 opened read-only on the canvas
    await dialog.getByRole('link', { name: 'Open version 1' }).click()
    await expect(page).toHaveURL(/\?version=1$/)
    await expect(page.getByTestId('viewing-version')).toContainText('Version 1 — first cut')
    await expect(page.getByTestId('node-check')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(3)
    await expect(page.getByRole('button', { name: 'Save' })).toHaveCount(0)
    await expect(page.getByLabel('Node palette')).toHaveCount(0)
    await page.getByRole('link', { name: 'Back to the draft' }).click()
    await expect(page.getByTestId('node-check_amount')).toBeVisible()
    await expect(page.locator('.vue-flow__edge')).toHaveCount(3)
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
