import { describe, expect, it } from 'vitest'
import { jsonIssues, parseJson, schemaIssues } from './json.utils'

describe('parseJson', () => {
  it('gives the value, or the error with its offset', () => {
    expect(parseJson('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } })
    const bad = parseJson('{"a": 1,, }')
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.issue.from).toBeGreaterThan(0)
    expect(parseJson('  ').ok).toBe(false)
  })
})

describe('schemaIssues', () => {
  it('accepts JSON Schemas and booleans', () => {
    expect(schemaIssues({ type: 'object', properties: { a: { type: 'string' } } })).toEqual([])
    expect(schemaIssues(true)).toEqual([])
  })
  it('names what makes a value no JSON Schema', () => {
    expect(schemaIssues({ type: 'strin' }).length).toBeGreaterThan(0)
    expect(schemaIssues({ properties: { a: { minLength: -1 } } }).length).toBeGreaterThan(0)
    expect(schemaIssues([1, 2])).toEqual([{ message: 'A JSON Schema is an object (or true/false).' }])
  })
})

describe('jsonIssues', () => {
  it('checks each kind of field', () => {
    expect(jsonIssues('', 'schema', { optional: true })).toEqual([])
    expect(jsonIssues('', 'schema')).toHaveLength(1)
    expect(jsonIssues('[1]', 'object')[0]!.message).toBe('Must be a JSON object.')
    expect(jsonIssues('{"X-Id": "{{ body.id }}", "N": 3}', 'string-map')[0]!.message).toContain('N')
    expect(jsonIssues('{"X-Id": "{{ body.id }}"}', 'string-map')).toEqual([])
  })
})
