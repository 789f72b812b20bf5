import type { Schemas } from '~/api/types'

/** The role names, as the contract spells them. */
export type RoleName = Schemas['RoleBody']['role']

export const ROLES: readonly RoleName[] = ['owner', 'admin', 'builder', 'viewer']
const RANK: Record<RoleName, number> = { owner: 4, admin: 3, builder: 2, viewer: 1 }

/** Whether `role` is at least `needed` (owner > admin > builder > viewer). */
export function roleAtLeast(role: RoleName | null | undefined, needed: RoleName): boolean {
  return role != null && RANK[role] >= RANK[needed]
}

/** Roles a caller may grant (the API's rule, mirrored only to avoid offering what it refuses):
 * owners grant any role, admins up to admin, builders and viewers none. */
export function grantableRoles(role: RoleName | null | undefined): RoleName[] {
  if (!roleAtLeast(role, 'admin')) return []
  return ROLES.filter((r) => RANK[r] <= RANK[role as RoleName])
}
