// The form generated for an action's config (JSON Forms): its icon buttons draw SVG icons, name
// themselves in a tooltip while hovered, and leave no unnamed tooltip behind once it is gone.
import { expect, expectAccessible, test } from './fixtures'
import { apiAs, dropOnCanvas, firstWorkspace, openCanvas } from './editor.helpers'

test('the generated config form: icons drawn, tooltips named while shown and gone after', async ({ signedIn, stack }) => {
  const api = await apiAs(stack.url, 'builder@acme.test')
  const ws = await firstWorkspace(api)
  const flow = await api('POST', `/api/workspaces/${ws}/flows`, { title: `Form probe ${Date.now()}` })
  try {
    const page = await signedIn('builder')
    await openCanvas(page, flow.id, flow.title)
    await dropOnCanvas(page, 'app_action:builtin:http:http_post', 60, 60)
    const panel = page.getByRole('complementary', { name: 'Node settings' })
    await panel.getByRole('textbox', { name: 'Property Name' }).first().fill('page')
    const add = panel.getByRole('button', { name: 'Add to Query button' })
    await expect(add).toBeEnabled()
    // every icon of the form is an SVG path (not an icon-font name the SVG set cannot draw)
    const paths = await panel.locator('.v-icon').evaluateAll((icons) => icons.map((i) => i.querySelector('path')?.getAttribute('d') ?? ''))
    expect(paths.length).toBeGreaterThan(0)
    for (const d of paths) expect(d).toMatch(/^M[\d.\s,-]/)
    await add.hover()
    await expect(page.getByRole('tooltip', { name: 'Add to Query' })).toBeVisible()
    await panel.getByRole('heading', { name: /^action_1 / }).hover()
    await expect(page.getByRole('tooltip')).toHaveCount(0)
    await expectAccessible(page, '/workflows/{id} (config form, after a tooltip)')
  } finally {
    await api('DELETE', `/api/workspaces/${ws}/flows/${flow.id}`)
  }
})
