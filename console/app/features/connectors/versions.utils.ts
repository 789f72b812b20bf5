// What can be done with an app version, from its status (the API enforces the same rules).
export type VersionStatus = 'draft' | 'published' | 'deprecated'

export const STATUS_COLOR: Record<VersionStatus, string> = { draft: 'warning', published: 'success', deprecated: 'default' }

export function versionActions(status: VersionStatus, { builtin, canBuild }: { builtin: boolean; canBuild: boolean }) {
  const editable = canBuild && !builtin
  return {
    edit: editable && status === 'draft',
    publish: editable && status === 'draft',
    discard: editable && status === 'draft',
    deprecate: editable && status === 'published',
  }
}

/** Why a version cannot be edited, in one sentence (null: it can). */
export function immutabilityNote(status: VersionStatus, number: number, builtin: boolean): string | null {
  if (builtin) return 'Built-in apps are maintained by Stepline and read-only. Their actions can be tested and used in workflows.'
  if (status === 'published') {
    return `Version ${number} is published and immutable: workflows that use its actions keep working exactly as tested. `
      + 'To change it, open a new draft (a copy of the latest version), edit it, and publish it as a new version.'
  }
  if (status === 'deprecated') {
    return `Version ${number} is deprecated: workflows that use it still run, but new work should use a newer version.`
  }
  return null
}
