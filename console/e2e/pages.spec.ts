// Every page of the console, as the ACME owner: it renders, it is accessible (axe), and a
// screenshot is kept for docs/console.md (written there when STEPLINE_SCREENSHOTS=1).
import path from 'node:path'
import { expect, expectAccessible, test } from './fixtures'

const SHOTS = process.env.STEPLINE_SCREENSHOTS === '1'
  ? path.resolve(import.meta.dirname, '..', '..', 'docs', 'console')
  : path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots')

async function shot(page: import('@playwright/test').Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}

const PUBLIC_PAGES = [
  { path: '/sign-in', heading: 'Sign in', shot: 'sign-in' },
  { path: '/forgot-password', heading: 'Reset your password', shot: 'forgot-password' },
  { path: '/reset-password?token=slp_example', heading: 'Choose a new password', shot: 'reset-password' },
  { path: '/accept-invite?token=sli_example', heading: 'Join your team on Stepline', shot: 'accept-invite' },
]

for (const p of PUBLIC_PAGES) {
  test(`public page ${p.path} renders and passes axe`, async ({ page }) => {
    await page.goto(p.path)
    await expect(page.getByRole('heading', { name: p.heading })).toBeVisible()
    await expectAccessible(page, p.path)
    await shot(page, p.shot)
  })
}

const SIGNED_IN_PAGES = [
  { path: '/', heading: /^Welcome/, shot: 'home' },
  { path: '/workspaces', heading: 'Workspaces', shot: 'workspaces' },
  { path: '/account/password', heading: 'Change password', shot: 'change-password' },
  { path: '/settings/users', heading: 'Users and roles', shot: 'users' },
  { path: '/settings/invites', heading: 'Invites', shot: 'invites' },
  { path: '/settings/api-tokens', heading: 'API tokens', shot: 'api-tokens' },
  { path: '/settings/audit', heading: 'Audit log', shot: 'audit' },
  { path: '/no/such/page', heading: 'This page does not exist', shot: 'not-found' },
]

test('every signed-in page renders and passes axe, in light and dark', async ({ signedIn }) => {
  test.setTimeout(120_000) // ten pages, each judged by axe once settled: over a minute on a loaded machine
  const page = await signedIn('owner')
  for (const p of SIGNED_IN_PAGES) {
    await page.goto(p.path)
    await expect(page.getByRole('heading', { name: p.heading, level: 1 })).toBeVisible()
    await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
    await expectAccessible(page, p.path)
    await shot(page, p.shot)
  }
  // a workspace's page
  await page.goto('/workspaces')
  await page.getByRole('link', { name: 'Operations' }).click()
  await expect(page.getByRole('heading', { name: 'Operations', level: 1 })).toBeVisible()
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
  await expectAccessible(page, '/workspaces/{ws}')
  await shot(page, 'workspace')
  // the dark theme
  await page.goto('/settings/users')
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click()
  await expect(page.getByRole('button', { name: 'Switch to the light theme' })).toBeVisible()
  await expectAccessible(page, '/settings/users (dark)')
  await shot(page, 'users-dark')
  await page.getByRole('button', { name: 'Switch to the light theme' }).click()
})

test('an admin creates a workspace, and the audit log finds it by action', async ({ signedIn }) => {
  const page = await signedIn('owner')
  const name = `Audit probe ${Date.now()}`
  await page.goto('/workspaces')
  await page.getByRole('button', { name: 'New workspace' }).click()
  await page.getByRole('dialog').getByLabel('Name').fill(name)
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click()
  await expect(page.getByRole('link', { name })).toBeVisible()
  // the new workspace is in the picker at once
  await page.getByTestId('workspace-picker').click()
  await expect(page.getByRole('option', { name })).toBeVisible()
  await page.keyboard.press('Escape')

  await page.goto('/settings/audit')
  await page.getByLabel('Action').fill('no.such.action')
  await page.getByRole('button', { name: 'Apply' }).click()
  await expect(page.getByText('No event matches these filters')).toBeVisible()
  await page.getByLabel('Action').fill('workspace.created')
  await page.getByRole('button', { name: 'Apply' }).click()
  await expect(page.locator('table')).toContainText('workspace.created')
  await expect(page.locator('table')).not.toContainText('invite.created')
})
