// The mail-link flows and the admin flows, end to end through the real stack.
import { DEMO_PASSWORD, expect, expectAccessible, signIn, test } from './fixtures'

test('reset a password through the link in the captured mail', async ({ page, stack }) => {
  const email = 'viewer@beta.test'
  await page.goto('/forgot-password')
  await page.getByLabel('Email').fill(email)
  await page.getByRole('button', { name: 'Send the link' }).click()
  await expect(page.getByRole('status')).toContainText('reset link is on its way')

  const link = await stack.mailLink(email, '/reset-password?token=')
  expect(link.startsWith(stack.url)).toBe(true)
  await page.goto(link)
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible()
  // the API's policy error is shown under the field
  await page.getByLabel('New password', { exact: true }).fill('short')
  await page.getByLabel('Repeat the new password').fill('short')
  await page.getByRole('button', { name: 'Set the password' }).click()
  await expect(page.getByTestId('error-message')).toBeVisible()
  const fresh = 'a-brand-new-password-1'
  await page.getByLabel('New password', { exact: true }).fill(fresh)
  await page.getByLabel('Repeat the new password').fill(fresh)
  await page.getByRole('button', { name: 'Set the password' }).click()
  await expect(page.getByText('Your password was changed. Sign in with the new one.')).toBeVisible()
  await signIn(page, email, fresh)

  // put the demo password back through the change-password page
  await page.goto('/account/password')
  await page.getByLabel('Current password').fill(fresh)
  await page.getByLabel('New password', { exact: true }).fill(DEMO_PASSWORD)
  await page.getByLabel('Repeat the new password').fill(DEMO_PASSWORD)
  await page.getByRole('button', { name: 'Change password' }).click()
  await expect(page.getByRole('status')).toContainText('Password changed')
  // the used link does not work twice
  await page.goto(link)
  await page.getByLabel('New password', { exact: true }).fill('another-password-22')
  await page.getByLabel('Repeat the new password').fill('another-password-22')
  await page.getByRole('button', { name: 'Set the password' }).click()
  await expect(page.getByTestId('error-message')).toContainText('invalid or has expired')
})

test('invite a user, who accepts through the mail link and sees only their workspace', async ({ page, browser, stack }) => {
  const email = `new-${Date.now()}@example.test`
  await signIn(page, 'admin@acme.test')
  await page.goto('/settings/invites')
  await page.getByTestId('new-invite').click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Email').fill(email)
  await dialog.locator('.v-select').filter({ hasText: 'Workspaces' }).click()
  await page.getByRole('option', { name: 'Operations' }).click()
  await page.keyboard.press('Escape')
  await dialog.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByRole('status')).toContainText(`Invitation sent to ${email}`)
  await expect(page.getByRole('row', { name: new RegExp(email) })).toContainText('pending')

  // resend: a new mail, the old link revoked
  const first = await stack.mailLink(email, '/accept-invite?token=')
  await page.getByRole('button', { name: `Resend the invitation to ${email}` }).first().click()
  await expect(page.getByRole('status')).toContainText(`A new invitation was sent to ${email}`)
  const link = await stack.mailLink(email, '/accept-invite?token=')
  expect(link).not.toBe(first)

  const invitee = await (await browser.newContext()).newPage()
  await invitee.goto(first)
  await invitee.getByLabel('Your name').fill('New Builder')
  await invitee.getByLabel('Password', { exact: true }).fill('invitee-password-1')
  await invitee.getByLabel('Repeat the new password').fill('invitee-password-1')
  await invitee.getByRole('button', { name: 'Accept and sign in' }).click()
  await expect(invitee.getByTestId('error-message')).toContainText('invalid or has expired')

  await invitee.goto(link)
  await expectAccessible(invitee, 'accept-invite with a token')
  await invitee.getByLabel('Your name').fill('New Builder')
  await invitee.getByLabel('Password', { exact: true }).fill('invitee-password-1')
  await invitee.getByLabel('Repeat the new password').fill('invitee-password-1')
  await invitee.getByRole('button', { name: 'Accept and sign in' }).click()
  await expect(invitee.getByRole('heading', { name: 'Welcome, New Builder' })).toBeVisible()
  await expect(invitee.getByTestId('workspace-card')).toHaveCount(1)
  await expect(invitee.getByTestId('workspace-card')).toContainText('Operations')
  await invitee.context().close()

  await page.reload()
  await expect(page.getByRole('row', { name: new RegExp(email) }).first()).toContainText('accepted')
})

test('an API token secret is shown once, with a copy button', async ({ signedIn }) => {
  const page = await signedIn('owner')
  await page.goto('/settings/api-tokens')
  await page.getByTestId('new-token').click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Name').fill('CI deploy')
  // a builder token reaches only the workspaces chosen for it
  await dialog.locator('.v-select').filter({ hasText: 'Workspaces' }).click()
  await page.getByRole('option', { name: 'Operations' }).click()
  await page.keyboard.press('Escape')
  await dialog.getByRole('button', { name: 'Create token' }).click()
  const secret = page.getByTestId('token-secret')
  await expect(secret).toBeVisible()
  const value = await secret.getByRole('textbox', { name: 'API token' }).inputValue()
  expect(value.length).toBeGreaterThan(20)
  await expect(secret.getByRole('button', { name: 'Copy API token' })).toBeVisible()
  await page.reload()
  await expect(page.getByTestId('token-secret')).toHaveCount(0)
  const row = page.getByRole('row', { name: /CI deploy/ })
  await expect(row).toContainText('Operations')
  await expect(row).toContainText('builder')
  expect(await page.content()).not.toContain(value)
})

test('changing the password elsewhere sends an open console to sign-in, saying why', async ({ browser }) => {
  const email = 'admin@beta.test'
  const first = await (await browser.newContext()).newPage()
  await signIn(first, email)
  const second = await (await browser.newContext()).newPage()
  await signIn(second, email)
  await second.goto('/account/password')
  await second.getByLabel('Current password').fill(DEMO_PASSWORD)
  await second.getByLabel('New password', { exact: true }).fill('temporary-password-9')
  await second.getByLabel('Repeat the new password').fill('temporary-password-9')
  await second.getByRole('button', { name: 'Change password' }).click()
  await expect(second.getByRole('status')).toContainText('Password changed')

  await first.evaluate(() => window.dispatchEvent(new Event('focus')))
  await expect(first).toHaveURL(/\/sign-in/)
  await expect(first.getByTestId('session-ended')).toContainText('password')

  // restore the demo password
  await second.getByLabel('Current password').fill('temporary-password-9')
  await second.getByLabel('New password', { exact: true }).fill(DEMO_PASSWORD)
  await second.getByLabel('Repeat the new password').fill(DEMO_PASSWORD)
  await second.getByRole('button', { name: 'Change password' }).click()
  await expect(second.getByRole('status')).toContainText('Password changed')
  await first.context().close()
  await second.context().close()
})

test('a user of two tenants switches between them', async ({ page, browser, stack }) => {
  // GIVEN builder@beta.test is invited into ACME and accepts with their existing password
  const email = 'builder@beta.test'
  await signIn(page, 'owner@acme.test')
  await page.goto('/settings/invites')
  await page.getByTestId('new-invite').click()
  const dialog = page.getByRole('dialog')
  await dialog.getByLabel('Email').fill(email)
  await dialog.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByRole('status')).toContainText(`Invitation sent to ${email}`)
  const link = await stack.mailLink(email, '/accept-invite?token=')
  const user = await (await browser.newContext()).newPage()
  await user.goto(link)
  await user.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD)
  await user.getByLabel('Repeat the new password').fill(DEMO_PASSWORD)
  await user.getByRole('button', { name: 'Accept and sign in' }).click()
  await expect(user.getByTestId('tenant-switcher')).toContainText('ACME')
  // WHEN they switch tenant THEN the console shows the other tenant and its workspaces
  await user.getByTestId('tenant-switcher').click()
  await user.getByRole('menuitem', { name: /BETA/ }).or(user.getByRole('option', { name: /BETA/ }))
    .or(user.getByText('BETA', { exact: true })).first().click()
  await expect(user.getByTestId('tenant-switcher')).toContainText('BETA')
  await expect(user.getByTestId('workspace-card')).toContainText('Operations')
  await user.reload()
  await expect(user.getByTestId('tenant-switcher')).toContainText('BETA')
  await user.context().close()
})
