// Runs last (it reseeds the demo data): after POST /operator/reset an open console lands on sign-in.
import { expect, test } from './fixtures'

test('after a platform reset an open console lands on the sign-in page with a clear message', async ({ signedIn, stack }) => {
  const page = await signedIn('builder')
  await page.goto('/workspaces')
  await expect(page.getByRole('link', { name: 'Operations' })).toBeVisible()
  await stack.reset()
  await page.evaluate(() => window.dispatchEvent(new Event('focus')))
  await expect(page).toHaveURL(/\/sign-in/)
  await expect(page.getByTestId('session-ended')).toContainText('sign in again')
  const cookies = await page.evaluate(() => document.cookie)
  expect(cookies).not.toContain('stepline_refresh')
})
