// The connector pages against the real stack and a loopback fake vendor: a builder creates a
// custom app, an action and an API-key connection, tests both and reads the masked trace
// (the secret never reaches the page); a viewer finds no edit control; axe on every page.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from '@playwright/test'
import { expect, expectAccessible, test } from './fixtures'

const REPO = path.resolve(import.meta.dirname, '..', '..')
const SHOTS = process.env.STEPLINE_SCREENSHOTS === '1'
  ? path.resolve(REPO, 'docs', 'console')
  : path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots')
const SECRET = `sk_e2e_${Date.now().toString(36)}_Zq9`
const APP_NAME = `Echo Service ${Date.now().toString(36)}`

let vendor: ChildProcess | null = null
let idp: ChildProcess | null = null
let idpUrl = ''
let vendorUrl = ''
let appPath = ''
let actionPath = ''

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}

async function settled(page: Page): Promise<void> {
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0)
}

/** Replace the text of the JSON editor labelled `label` (CodeMirror). */
async function fillJson(page: Page, label: string, text: string): Promise<void> {
  const editor = page.getByRole('textbox', { name: label, exact: true })
  await editor.click()
  await page.keyboard.press('ControlOrMeta+a')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(text)
}

/** A loopback fake (tests/fakes/vendors/serve.py) and its URL. */
async function serveFake(name: string): Promise<[ChildProcess, string]> {
  const python = process.env.STEPLINE_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python')
  const child = spawn(python, ['-m', 'tests.fakes.vendors.serve', name], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fake ${name} did not start`)), 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      const m = /READY (\S+)/.exec(d.toString())
      if (m) { clearTimeout(timer); resolve(m[1]!) }
    })
  })
  return [child, url]
}

async function expectNoSecret(page: Page): Promise<void> {
  expect(await page.content()).not.toContain(SECRET)
  expect(await page.content()).not.toContain(SECRET.slice(0, 12))
}

test.describe.serial('connector pages', () => {
  test.beforeAll(async () => {
    ;[vendor, vendorUrl] = await serveFake('httpbin')
    ;[idp, idpUrl] = await serveFake('oauth')
  })

  test.afterAll(() => {
    vendor?.kill('SIGTERM')
    idp?.kill('SIGTERM')
  })

  test('a builder creates an app, an action and a connection, and tests them with the secret masked', async ({ signedIn }) => {
    test.setTimeout(150_000) // a long path through six pages: over a minute on a loaded machine
    const page = await signedIn('builder')

    // The catalog: built-in apps, searchable.
    await page.goto('/apps')
    await expect(page.getByRole('heading', { name: 'Apps', level: 1 })).toBeVisible()
    await settled(page)
    await expect(page.getByRole('link', { name: 'Slack' })).toBeVisible()
    await page.getByRole('textbox', { name: 'Search apps' }).fill('stripe')
    await expect(page.getByRole('link', { name: 'Stripe' })).toBeVisible()
    await expect(page.getByRole('link', { name: 'Slack' })).toHaveCount(0)
    await page.getByRole('textbox', { name: 'Search apps' }).fill('')
    await expect(page.getByRole('link', { name: 'Slack' })).toBeVisible() // the cards are back before axe judges them
    await expectAccessible(page, '/apps')
    await shot(page, 'apps')

    // A custom app, with an API key sent in a header, at the fake vendor.
    await page.getByRole('button', { name: 'New app' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Name').fill(APP_NAME)
    await dialog.getByLabel('Vendor').fill('Echo Inc')
    await dialog.getByLabel('Base URL').fill(vendorUrl)
    await expectAccessible(page, 'new app dialog')
    await dialog.getByRole('button', { name: 'Create app' }).click()
    await expect(page.getByRole('heading', { name: APP_NAME, level: 1 })).toBeVisible()
    appPath = new URL(page.url()).pathname
    await expect(page.getByTestId('version-status')).toHaveText('draft')

    // An action: the JSON Schema editors check as you type.
    await page.getByRole('button', { name: 'Add action' }).click()
    const editor = page.getByRole('dialog')
    await editor.getByLabel('Key').fill('echo')
    await editor.getByLabel('Name', { exact: true }).fill('Echo a message')
    await editor.getByRole('combobox', { name: 'Method' }).click({ force: true })
    await page.getByRole('option', { name: 'POST' }).click()
    await editor.getByLabel('Path template').fill('/anything/echo')
    await fillJson(page, 'Body schema', '{"type": "object", "properties": {"message": {"type": "strin"}}')
    await expect(editor.getByTestId('json-issue').first()).toBeVisible()
    await expect(editor.getByRole('button', { name: 'Add action' })).toBeDisabled()
    await fillJson(page, 'Body schema', '{"type": "object", "required": ["message"], "properties": {"message": {"type": "strin"}}}')
    await expect(editor.getByTestId('json-issue').first()).toContainText('must be equal to one of the allowed values')
    await fillJson(page, 'Body schema', '{"type": "object", "required": ["message"], "properties": {"message": {"type": "string", "title": "Message"}}}')
    await fillJson(page, 'Sample input', '{"body": {"message": "hello from the console"}}')
    await editor.getByLabel('Max attempts').fill('2')
    await editor.getByLabel('Timeout per attempt (s)').fill('10')
    await expect(editor.getByTestId('json-issue')).toHaveCount(0)
    await expectAccessible(page, 'action editor')
    await shot(page, 'action-editor')
    await editor.getByRole('button', { name: 'Add action' }).click()
    await expect(page.getByRole('dialog')).toHaveCount(0)
    await expect(page.getByTestId('actions-table')).toContainText('Echo a message')
    await expectAccessible(page, 'app editor')
    await shot(page, 'app-editor')

    // An API-key connection to it: the form comes from the app's auth schema.
    await page.goto('/connections')
    await expect(page.getByRole('heading', { name: 'Connections', level: 1 })).toBeVisible()
    await settled(page)
    await page.getByRole('button', { name: 'New connection' }).click()
    const conn = page.getByRole('dialog')
    await conn.getByRole('combobox', { name: 'App' }).fill(APP_NAME.slice(0, 16))
    await page.getByRole('option', { name: new RegExp(APP_NAME) }).click()
    await conn.getByLabel('Name').fill('Echo (e2e)')
    const key = conn.getByRole('textbox', { name: /^API key/ })
    await expect(key).toHaveAttribute('type', 'password')
    await key.fill(SECRET)
    await expectAccessible(page, 'new connection dialog')
    await conn.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByRole('dialog')).toHaveCount(0)
    const row = page.getByRole('row', { name: /Echo \(e2e\)/ })
    await expect(row).toContainText('api_key: ••••')
    await expectNoSecret(page)

    // Test the connection: its test action runs through the fake vendor.
    await row.getByRole('button', { name: 'Test Echo (e2e)' }).click()
    await expect(page.getByTestId('trace')).toContainText('Succeeded')
    await expect(page.getByTestId('trace-request')).toContainText(/X-API-Key: ••••/i)
    await expectNoSecret(page)
    await expectAccessible(page, 'connection test result')
    await page.getByRole('button', { name: 'Close' }).click()
    // the dialog fades out: its text is judged on contrast only once it is gone
    await expect(page.getByRole('dialog')).toHaveCount(0)
    await expectAccessible(page, '/connections')
    await shot(page, 'connections')

    // The action tester: the input form comes from the action's input schema.
    await page.goto(appPath)
    await settled(page)
    await page.getByRole('link', { name: 'Test Echo a message' }).click()
    await expect(page.getByRole('heading', { name: 'Test “Echo a message”', level: 1 })).toBeVisible()
    await settled(page)
    await expect(page.getByTestId('connection-picker')).toContainText('Echo (e2e)')
    await expect(page.getByRole('textbox', { name: /^Message/ })).toHaveValue('hello from the console')
    await page.getByRole('textbox', { name: /^Message/ }).fill('ping from e2e')
    await page.getByRole('button', { name: 'Run test' }).click()
    await expect(page.getByTestId('trace-status')).toContainText('200')
    await expect(page.getByTestId('trace-duration')).toContainText(/\d+ ms/)
    await expect(page.getByTestId('trace-request')).toContainText('POST')
    await expect(page.getByTestId('trace-request')).toContainText(/X-API-Key: ••••/i)
    await expect(page.getByTestId('trace-response')).toContainText('ping from e2e')
    await expectNoSecret(page)
    actionPath = new URL(page.url()).pathname
    await expectAccessible(page, '/actions/{id}')
    await shot(page, 'action-tester')

    // Publishing makes the version immutable, and the page says so.
    await page.goto(appPath)
    await page.getByRole('button', { name: 'Publish' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Publish' }).click()
    await expect(page.getByTestId('version-status')).toHaveText('published')
    await expect(page.getByTestId('immutability')).toContainText('immutable')
    await expect(page.getByRole('button', { name: 'Add action' })).toHaveCount(0)
    await expect(page.getByRole('button', { name: 'New draft' })).toBeVisible()
  })

  test('a viewer reads the connector pages and finds no edit control', async ({ signedIn }) => {
    const page = await signedIn('viewer')
    const editors = /^(New|Create|Add|Remove|Revoke|Delete|Edit|Save|Publish|Deprecate|Discard|Rotate|Connect|Run|Test)\b/i
    for (const [p, heading] of [['/apps', 'Apps'], [appPath, APP_NAME], ['/connections', 'Connections'],
      [actionPath, 'Test “Echo a message”']] as const) {
      await page.goto(p)
      await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible()
      await settled(page)
      await expect(page.getByRole('button', { name: editors })).toHaveCount(0)
      await expectAccessible(page, `${p} as viewer`)
    }
    await expect(page.getByTestId('read-only')).toBeVisible()
    await page.goto('/connections')
    await expect(page.getByRole('row', { name: /Echo \(e2e\)/ })).toBeVisible()
    await expectNoSecret(page)
  })

  test('OAuth2 "connect" goes through the provider and comes back to the console', async ({ signedIn, stack }) => {
    // GIVEN a published OAuth2 app (HubSpot's connector with its endpoints on a loopback
    // authorization server) and a connection holding only the client credentials
    const login = await fetch(`${stack.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'builder@acme.test', password: 'stepline-demo-2026' }) }).then((r) => r.json())
    const auth = { Authorization: `Bearer ${login.access_token}`, 'Content-Type': 'application/json' }
    const doc = JSON.parse(readFileSync(path.join(REPO, 'chalicelib', 'connectors', 'catalog', 'hubspot.json'), 'utf8'))
    const slug = `crm-${Date.now().toString(36)}`
    Object.assign(doc, { slug, name: 'CRM (OAuth e2e)', vendor: 'Example', category: 'crm' })
    doc.auth = { ...doc.auth, authorize_url: `${idpUrl}/authorize`, token_url: `${idpUrl}/token`, pkce: true, client_auth: 'client_secret_basic' }
    const app = await fetch(`${stack.url}/api/apps`, { method: 'POST', headers: auth,
      body: JSON.stringify({ name: 'CRM (OAuth e2e)', slug, vendor: 'Example', category: 'crm', description: '', icon: '', notes: '', definition: doc }) }).then((r) => r.json())
    expect((await fetch(`${stack.url}/api/apps/${app.id}/publish`, { method: 'POST', headers: auth })).status).toBe(200)
    const ws = (await fetch(`${stack.url}/api/me`, { headers: auth }).then((r) => r.json())).workspaces[0].id
    const created = await fetch(`${stack.url}/api/workspaces/${ws}/connections`, { method: 'POST', headers: auth,
      body: JSON.stringify({ name: 'CRM via OAuth', app_id: app.id, settings: { base_url: idpUrl },
        secrets: { client_id: 'fake-client-id', client_secret: 'fake-client-secret-0123456789abcdef' } }) })
    expect(created.status).toBe(201)

    // WHEN a builder clicks Connect THEN the browser goes to the provider and back to the console
    const page = await signedIn('builder')
    await page.goto('/connections')
    await settled(page)
    await page.getByRole('row', { name: /CRM via OAuth/ }).getByRole('button', { name: 'Connect CRM via OAuth' }).click()
    await expect(page).toHaveURL(/\/connections$/)
    await expect(page.getByTestId('oauth-outcome')).toContainText('Connected')
    await expect(page.getByRole('row', { name: /CRM via OAuth/ })).toContainText('access_token: ••••')
    expect(await page.content()).not.toContain('fake-client-secret-0123456789abcdef')
    await expectAccessible(page, '/connections after OAuth2')
  })
})
