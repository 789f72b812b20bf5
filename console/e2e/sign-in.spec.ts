import { DEMO_PASSWORD, demoEmail, expect, expectAccessible, test, type DemoRole } from './fixtures'

const ROLES: DemoRole[] = ['owner', 'admin', 'builder', 'viewer']

test('the sign-in page is served at / on the same origin and is accessible', async ({ page }) => {
  await page.goto('/')
  await expect(page).toHaveURL(/\/sign-in$/)
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  await expectAccessible(page, 'sign-in')
})

test('a wrong password shows the API message', async ({ page }) => {
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill('owner@acme.test')
  await page.getByLabel('Password', { exact: true }).fill('not-the-password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('error-message')).toHaveText('Invalid email or password.')
})

for (const role of ROLES) {
  test(`${role} of ACME signs in and sees their tenant`, async ({ signedIn }) => {
    const page = await signedIn(role)
    await expect(page.getByTestId('tenant-switcher')).toContainText('ACME')
    const admin = page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Users and roles' })
    if (role === 'owner' || role === 'admin') await expect(admin).toBeVisible()
    else await expect(admin).toHaveCount(0)
  })
}

test('the refresh token is never visible to page scripts', async ({ signedIn }) => {
  const page = await signedIn('owner')
  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
  }))
  for (const where of Object.values(visible)) expect(where).not.toContain('slr_')
  expect(visible.cookie).not.toContain('stepline_refresh')
  // a reload resumes the session from the httpOnly cookie
  await page.reload()
  await expect(page.getByRole('heading', { name: /^Welcome/ })).toBeVisible()
  void DEMO_PASSWORD
  void demoEmail
})
