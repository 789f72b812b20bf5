import { describe, expect, it } from 'vitest'
import { createBody, optionalSchema, patchBody } from './connectionForm.utils'

describe('connection bodies', () => {
  it('sends what was typed, never blanks', () => {
    expect(createBody('app1', { name: ' Mine ', settings: { base_url: 'https://x', region: '' }, credentials: { api_key: 'k', other: '' } }))
      .toEqual({ name: 'Mine', app_id: 'app1', settings: { base_url: 'https://x' }, secrets: { api_key: 'k' } })
  })

  it('an edit sends only the changes, and secrets only when typed', () => {
    const original = { name: 'Mine', settings: { base_url: 'https://x' } }
    expect(patchBody({ name: 'Mine', settings: { base_url: 'https://x' }, credentials: {} }, original)).toEqual({})
    expect(patchBody({ name: 'Ours', settings: { base_url: 'https://y' }, credentials: { api_key: 'new' } }, original))
      .toEqual({ name: 'Ours', settings: { base_url: 'https://y' }, secrets: { api_key: 'new' } })
  })

  it('an edit form requires nothing (blank keeps the stored secret)', () => {
    expect(optionalSchema({ type: 'object', required: ['api_key'], properties: {} })).toEqual({ type: 'object', properties: {} })
  })
})
