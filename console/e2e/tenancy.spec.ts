// A BETA user never sees an ACME name or id anywhere in the console: not on a page, not in any API answer.
import { DEMO_PASSWORD, expect, test } from './fixtures'

test('a BETA user never sees an ACME name or id', async ({ page, stack }) => {
  // the ACME ids, from the API as ACME's owner
  const login = await fetch(`${stack.url}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'owner@acme.test', password: DEMO_PASSWORD }),
  }).then((r) => r.json())
  const me = await fetch(`${stack.url}/api/me`, { headers: { Authorization: `Bearer ${login.access_token}` } }).then((r) => r.json())
  const acme: string[] = [me.tenant.id, ...me.workspaces.map((w: { id: string }) => w.id), 'ACME', 'acme.test']

  const answers: string[] = []
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname.match(/^\/(api|auth)\//)) answers.push(await res.text().catch(() => ''))
  })
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill('owner@beta.test')
  await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: /^Welcome/ })).toBeVisible()
  for (const path of ['/', '/workspaces', '/settings/users', '/settings/invites', '/settings/api-tokens', '/settings/audit']) {
    await page.goto(path)
    await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
    await page.getByTestId('tenant-switcher').click()
    const text = await page.content()
    await page.keyboard.press('Escape')
    for (const secret of acme) expect(text, `${secret} on ${path}`).not.toContain(secret)
  }
  expect(answers.length).toBeGreaterThan(5)
  for (const body of answers) for (const secret of acme) expect(body).not.toContain(secret)
})
