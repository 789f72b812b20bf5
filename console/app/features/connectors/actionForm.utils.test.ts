import { describe, expect, it } from 'vitest'
import { emptyActionForm, fieldOfPointer, formIssues, fromDocument, toDocument } from './actionForm.utils'

const doc = {
  key: 'create_issue', name: 'Create issue', method: 'POST', path: '/repos/{{ path.owner }}/issues',
  headers: { 'X-Trace': '{{ body.title }}' },
  path_schema: { type: 'object', required: ['owner'], properties: { owner: { type: 'string' } } },
  body_schema: { type: 'object', properties: { title: { type: 'string' } } },
  retry: { max_attempts: 2 }, timeout_seconds: 12,
}

describe('action form', () => {
  it('round-trips a document', () => {
    const form = fromDocument(doc)
    expect(form.retry.max_attempts).toBe('2')
    expect(form.retry.max_delay).toBe('')
    expect(formIssues(form)).toEqual({})
    const back = toDocument(form, { forCreate: true })
    expect(back).toEqual(doc)
  })

  it('marks cleared fields null for a PATCH, and leaves them out of a create', () => {
    const form = fromDocument(doc)
    form.json.headers = ''
    form.retry.max_attempts = ''
    expect(toDocument(form)).toMatchObject({ headers: null, retry: null, description: null, query_schema: null })
    expect(toDocument(form, { forCreate: true })).not.toHaveProperty('headers')
  })

  it('finds problems before sending', () => {
    const form = emptyActionForm()
    form.json.body_schema = '{"type": "strin"}'
    form.json.headers = '{"X": 1}'
    form.retry.max_attempts = '1.5'
    form.timeout_seconds = '0'
    expect(Object.keys(formIssues(form)).sort()).toEqual(['body_schema', 'headers', 'retry.max_attempts', 'timeout_seconds'])
  })

  it('maps the API pointers to form fields', () => {
    expect(fieldOfPointer('/body_schema/properties/a')).toBe('body_schema')
    expect(fieldOfPointer('/retry/max_attempts')).toBe('retry.max_attempts')
    expect(fieldOfPointer('/path')).toBe('path')
  })
})
