// The connection picker of a node: which app's connections it lists, and how each reads.

export interface ConnectionLike { id: string; name: string; app_id: string; status: string }
export interface TemplateLike { kind: string; type?: string; app_id?: string; needs_connection?: boolean; needs_credentials?: boolean }

/**
 * Whether a node takes a connection and of which app: an app action's own app (null app:
 * any connection, for a step type such as http_request that may use one). `required`:
 * the node cannot run without one.
 */
export function connectionNeed(t: TemplateLike | undefined): { appId: string | null; required: boolean } | null {
  if (!t) return null
  if (t.kind === 'app_action') return { appId: t.app_id ?? null, required: Boolean(t.needs_connection) }
  if (t.kind === 'step_type' && t.needs_credentials) return { appId: null, required: t.type === 'action' }
  return null
}

/** The picker's items: the workspace's connections of that app (all when no app), a broken one marked. */
export function connectionItems(connections: ConnectionLike[], appId: string | null): Array<{ title: string; value: string }> {
  return connections
    .filter((c) => appId === null || c.app_id === appId)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({ title: c.status === 'ok' ? c.name : `${c.name} (${c.status.replace('_', ' ')})`, value: c.id }))
}
