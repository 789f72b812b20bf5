import { describe, expect, it } from 'vitest'
import { ApiError, describeDetails, fieldLabel } from './errors'

describe('ApiError', () => {
  it('carries the API error shape: code, message and the fields it names', () => {
    const err = new ApiError(422, {
      error: { code: 'validation_failed', message: 'The body is invalid.', request_id: 'r-1',
        details: [{ path: '/email', issue: 'must be an address' }, { path: '/workspace_ids/0', issue: 'unknown workspace' }] },
    })
    expect([err.status, err.code, err.message, err.requestId]).toEqual([422, 'validation_failed', 'The body is invalid.', 'r-1'])
    expect(err.fieldIssue('/email')).toBe('must be an address')
    expect(err.fieldIssue('/name')).toBeUndefined()
    expect(describeDetails(err.details)).toEqual(['email: must be an address', 'workspace ids › 0: unknown workspace'])
  })

  it('says something useful when the body is not the error shape', () => {
    expect(new ApiError(502, '<html>bad gateway</html>').message).toBe('Request failed (502).')
    const offline = new ApiError(0, null)
    expect([offline.code, offline.message]).toEqual(['network_error', 'The server could not be reached.'])
  })

  it('labels JSON pointers for people', () => {
    expect(fieldLabel('/new_password')).toBe('new password')
    expect(fieldLabel('')).toBe('request')
  })
})
