import { describe, expect, it } from 'vitest'
import { defaultsOf, formSchema, hasFields, maskWriteOnly, withoutBlanks, writeOnlyFields } from './schemaForm.utils'

const auth = {
  type: 'object', required: ['token'],
  properties: { token: { type: 'string', writeOnly: true }, user: { type: 'string' }, base_url: { type: 'string', default: 'https://x' } },
}

describe('schema preparation', () => {
  it('renders write-only fields as passwords', () => {
    const masked = maskWriteOnly(auth) as { properties: Record<string, Record<string, unknown>> }
    expect(masked.properties.token!.format).toBe('password')
    expect(masked.properties.user!.format).toBeUndefined()
    expect(writeOnlyFields(auth)).toEqual(['token'])
  })

  it('drops ids, required-only combinators and empty optional sections', () => {
    const out = formSchema({
      type: 'object', required: ['body'], properties: {
        path: { $id: 'urn:x:path', type: 'object' },
        body: { $id: 'urn:x:body', type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ required: ['a'] }] },
      },
    })
    expect(out).toEqual({ type: 'object', required: ['body'], properties: { body: { type: 'object', properties: { a: { type: 'string' } } } } })
  })

  it('keeps a combinator that carries fields', () => {
    const oneOf = [{ properties: { a: { type: 'string' } } }, { properties: { b: { type: 'number' } } }]
    expect(formSchema({ type: 'object', oneOf }).oneOf).toEqual(oneOf)
  })

  it('reads defaults and drops blanks', () => {
    expect(defaultsOf(auth)).toEqual({ base_url: 'https://x' })
    expect(hasFields(auth)).toBe(true)
    expect(hasFields({ type: 'object' })).toBe(false)
    expect(withoutBlanks({ a: '', b: 'x', c: null, d: 0 })).toEqual({ b: 'x', d: 0 })
  })
})
