import { describe, expect, it } from 'vitest'
import { grantableRoles, roleAtLeast } from './roles'

describe('roles', () => {
  it('orders owner > admin > builder > viewer', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true)
    expect(roleAtLeast('admin', 'admin')).toBe(true)
    expect(roleAtLeast('builder', 'admin')).toBe(false)
    expect(roleAtLeast('viewer', 'builder')).toBe(false)
    expect(roleAtLeast(null, 'viewer')).toBe(false)
  })

  it('offers only the roles the API lets the caller grant', () => {
    expect(grantableRoles('owner')).toEqual(['owner', 'admin', 'builder', 'viewer'])
    expect(grantableRoles('admin')).toEqual(['admin', 'builder', 'viewer'])
    expect(grantableRoles('builder')).toEqual([])
    expect(grantableRoles('viewer')).toEqual([])
  })
})
