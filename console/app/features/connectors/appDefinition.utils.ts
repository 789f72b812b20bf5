// The connector document a new custom app starts with: metadata, where the API lives,
// how a connection authenticates, and one action (the connection test). Everything else
// is edited afterwards in the app editor; the API validates the document.

export type AuthKind = 'api_key' | 'bearer' | 'basic' | 'custom_header' | 'none'

export interface NewAppForm {
  name: string
  slug: string
  vendor: string
  category: string
  description: string
  base_url: string
  auth: AuthKind
  /** api_key: header name; custom_header: header name. */
  header: string
  /** api_key: where the key goes. */
  key_in: 'header' | 'query'
  test_path: string
}

export const AUTH_KINDS: Array<{ title: string; value: AuthKind }> = [
  { title: 'API key (header or query parameter)', value: 'api_key' },
  { title: 'Bearer token', value: 'bearer' },
  { title: 'Basic (username and password)', value: 'basic' },
  { title: 'Custom header', value: 'custom_header' },
  { title: 'No authentication', value: 'none' },
]

export function emptyAppForm(): NewAppForm {
  return {
    name: '', slug: '', vendor: '', category: 'custom', description: '', base_url: 'https://',
    auth: 'api_key', header: 'X-API-Key', key_in: 'header', test_path: '/',
  }
}

const secret = (title: string) => ({ type: 'string', title, writeOnly: true, minLength: 1 })

function authOf(form: NewAppForm): { auth: Record<string, unknown>; fields: Record<string, unknown>; required: string[] } {
  switch (form.auth) {
    case 'api_key':
      return { auth: { type: 'api_key', in: form.key_in, name: form.header, field: 'api_key' },
        fields: { api_key: secret('API key') }, required: ['api_key'] }
    case 'bearer':
      return { auth: { type: 'bearer', field: 'token' }, fields: { token: secret('Token') }, required: ['token'] }
    case 'basic':
      return { auth: { type: 'basic', username_field: 'username', password_field: 'password' },
        fields: { username: { type: 'string', title: 'Username', minLength: 1 }, password: secret('Password') },
        required: ['username'] }
    case 'custom_header':
      return { auth: { type: 'custom_header', header: form.header, field: 'token' },
        fields: { token: secret('Token') }, required: ['token'] }
    default:
      return { auth: { type: 'none' }, fields: {}, required: [] }
  }
}

/** The connector document of a new app (draft version 1). */
export function newAppDefinition(form: NewAppForm): Record<string, unknown> {
  const { auth, fields, required } = authOf(form)
  const base = form.base_url.trim().replace(/\/+$/, '')
  return {
    format_version: 1,
    name: form.name, slug: form.slug, vendor: form.vendor, category: form.category,
    ...(form.description ? { description: form.description } : {}),
    base_url: base,
    auth,
    auth_fields: { type: 'object', required, properties: fields },
    // Like the built-ins: a connection may point the app elsewhere (a sandbox, a region).
    settings_schema: { type: 'object', properties: { base_url: { type: 'string', title: 'Base URL', default: base } } },
    test_action: 'check_connection',
    actions: [{ key: 'check_connection', name: 'Check connection', method: 'GET', path: form.test_path || '/' }],
  }
}
