import { describe, expect, it } from 'vitest'
import { emptyAppForm, newAppDefinition } from './appDefinition.utils'

describe('newAppDefinition', () => {
  it('builds an API-key app whose secret is write-only and whose test action exists', () => {
    const doc = newAppDefinition({ ...emptyAppForm(), name: 'Echo', slug: 'echo', vendor: 'E', base_url: 'http://127.0.0.1:9/' }) as any
    expect(doc.base_url).toBe('http://127.0.0.1:9')
    expect(doc.auth).toEqual({ type: 'api_key', in: 'header', name: 'X-API-Key', field: 'api_key' })
    expect(doc.auth_fields.properties.api_key.writeOnly).toBe(true)
    expect(doc.actions.map((a: any) => a.key)).toContain(doc.test_action)
  })

  it('declares every field each auth type names', () => {
    for (const auth of ['bearer', 'basic', 'custom_header', 'none'] as const) {
      const doc = newAppDefinition({ ...emptyAppForm(), auth }) as any
      const named = ['field', 'username_field', 'password_field'].map((k) => doc.auth[k]).filter(Boolean)
      for (const f of named) expect(Object.keys(doc.auth_fields.properties)).toContain(f)
    }
  })
})
