// Shared e2e fixtures: the stack's URL and operator token, sign-in as a demo user,
// the captured mail, and the axe check every page gets.
import AxeBuilder from '@axe-core/playwright'
import { expect, test as base, type Page } from '@playwright/test'

export const DEMO_PASSWORD = 'stepline-demo-2026'
export type DemoRole = 'owner' | 'admin' | 'builder' | 'viewer'
export const demoEmail = (role: DemoRole, tenant: 'acme' | 'beta' = 'acme') => `${role}@${tenant}.test`

export interface Stack {
  url: string
  operatorToken: string
  /** Captured mail to one address, newest first (GET /operator/mail). */
  mail(to: string): Promise<Array<{ subject: string; body: string; kind: string }>>
  /** The first link in the newest mail to `to` that starts with `path`. */
  mailLink(to: string, path: string): Promise<string>
  /** POST /operator/reset: purge, reseed, every session invalidated. */
  reset(): Promise<void>
}

async function operator(url: string, token: string, method: string, path: string): Promise<any> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'X-Operator-Token': token } })
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

/** Sign in through the page, as a person does. */
export async function signIn(page: Page, email: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: /^Welcome/ })).toBeVisible()
}

const QUIET_MS = 300

/** axe on the current page: no serious or critical violation. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  // Scan the page as a person reads it: after loading bars are gone and finite transitions (a dialog
  // fading out, a card fading in) have ended, so a half-faded element is not judged on its contrast.
  // The page must stay so for QUIET_MS: a reload or transition that starts just after a first quiet
  // moment (a list reloading after a toggle, a menu fading out) is waited for too.
  await page.evaluate(() => { delete (window as { __axeQuietSince?: number }).__axeQuietSince })
  await page.waitForFunction(
    (quietMs) => {
      const w = window as { __axeQuietSince?: number }
      const busy = Boolean(document.querySelector('.v-progress-linear--active')) ||
        document.getAnimations().some((a) => a.playState === 'running' && a.effect?.getTiming().iterations !== Infinity)
      const now = performance.now()
      if (busy) { delete w.__axeQuietSince; return false }
      w.__axeQuietSince ??= now
      return now - w.__axeQuietSince >= quietMs
    },
    QUIET_MS,
    { timeout: 10_000, polling: 50 },
  )
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${n.html.slice(0, 160)}`).join(' | ')}`)
  expect(summary, `axe on ${label}`).toEqual([])
}

export const test = base.extend<{ stack: Stack; signedIn: (role: DemoRole, tenant?: 'acme' | 'beta') => Promise<Page> }>({
  stack: async ({}, use) => {
    const url = process.env.STEPLINE_E2E_URL as string
    const token = process.env.STEPLINE_OPERATOR_TOKEN as string
    const stack: Stack = {
      url,
      operatorToken: token,
      async mail(to) {
        const page = await operator(url, token, 'GET', `/operator/mail?to=${encodeURIComponent(to)}&limit=50`)
        return page.items
      },
      async mailLink(to, path) {
        const mails = await stack.mail(to)
        for (const m of mails) {
          const hit = m.body.match(new RegExp(`https?://[^\\s]+${path.replace(/[?]/g, '\\?')}[^\\s]*`))
          if (hit) return hit[0]
        }
        throw new Error(`no mail to ${to} with a ${path} link`)
      },
      async reset() {
        await operator(url, token, 'POST', '/operator/reset')
      },
    }
    await use(stack)
  },
  signedIn: async ({ page }, use) => {
    await use(async (role, tenant = 'acme') => {
      await signIn(page, demoEmail(role, tenant))
      return page
    })
  },
})

export { expect }
