import { describe, expect, it } from 'vitest'
import { immutabilityNote, versionActions } from './versions.utils'

describe('versions', () => {
  it('offers edits on drafts of custom apps to builders only', () => {
    expect(versionActions('draft', { builtin: false, canBuild: true })).toEqual({ edit: true, publish: true, discard: true, deprecate: false })
    expect(versionActions('published', { builtin: false, canBuild: true })).toEqual({ edit: false, publish: false, discard: false, deprecate: true })
    expect(Object.values(versionActions('draft', { builtin: false, canBuild: false })).some(Boolean)).toBe(false)
    expect(Object.values(versionActions('published', { builtin: true, canBuild: true })).some(Boolean)).toBe(false)
  })

  it('explains immutability', () => {
    expect(immutabilityNote('published', 3, false)).toContain('Version 3 is published and immutable')
    expect(immutabilityNote('draft', 1, false)).toBeNull()
    expect(immutabilityNote('draft', 1, true)).toContain('read-only')
  })
})
