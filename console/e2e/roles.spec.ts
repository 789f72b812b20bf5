// Role-aware UI: a viewer finds no edit control; a builder cannot reach admin pages.
import { expect, expectAccessible, test } from './fixtures'

const ADMIN_PAGES = ['/settings/users', '/settings/invites', '/settings/api-tokens', '/settings/audit']

test('a viewer finds no edit control anywhere', async ({ signedIn }) => {
  const page = await signedIn('viewer')
  const editors = /^(New|Create|Add|Invite|Remove|Revoke|Delete|Edit|Save|Publish)\b/i
  for (const path of ['/', '/workspaces']) {
    await page.goto(path)
    await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
    await expect(page.getByRole('button', { name: editors })).toHaveCount(0)
  }
  await page.goto('/workspaces')
  await page.getByRole('link', { name: 'Operations' }).click()
  await expect(page.getByRole('heading', { name: 'Operations', level: 1 })).toBeVisible()
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
  await expect(page.getByRole('button', { name: editors })).toHaveCount(0)
  await expectAccessible(page, 'workspace as viewer')
})

for (const role of ['builder', 'viewer'] as const) {
  test(`a ${role} cannot reach the admin pages`, async ({ signedIn }) => {
    const page = await signedIn(role)
    await expect(page.getByRole('link', { name: 'Users and roles' })).toHaveCount(0)
    for (const path of ADMIN_PAGES) {
      await page.goto(path)
      await expect(page).toHaveURL(/\/\?denied=/)
      await expect(page.getByText(`cannot open ${path}`)).toBeVisible()
    }
  })
}

test('a builder sees only their workspaces', async ({ signedIn }) => {
  const page = await signedIn('builder')
  await page.goto('/workspaces')
  await expect(page.getByRole('link', { name: 'Operations' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Marketing' })).toHaveCount(0)
})
