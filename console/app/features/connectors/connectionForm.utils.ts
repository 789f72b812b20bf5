// Connection bodies from the generated forms. Secrets are write-only: a form never starts
// with them (reads only have masked values), and an untouched secret is not sent.
import { withoutBlanks, type JsonSchema } from '../forms/schemaForm.utils'

export interface ConnectionDraft {
  name: string
  settings: Record<string, unknown>
  credentials: Record<string, unknown>
}

/** Body of POST …/connections. */
export function createBody(appId: string, draft: ConnectionDraft) {
  return {
    name: draft.name.trim(), app_id: appId,
    settings: withoutBlanks(draft.settings), secrets: withoutBlanks(draft.credentials),
  }
}

/** Body of PATCH …/connections/{id}: the name, settings when changed, secrets only when typed. */
export function patchBody(draft: ConnectionDraft, original: { name: string; settings: Record<string, unknown> }) {
  const body: { name?: string; settings?: Record<string, unknown>; secrets?: Record<string, unknown> } = {}
  if (draft.name.trim() !== original.name) body.name = draft.name.trim()
  const settings = withoutBlanks(draft.settings)
  if (JSON.stringify(settings) !== JSON.stringify(withoutBlanks(original.settings))) body.settings = settings
  const secrets = withoutBlanks(draft.credentials)
  if (Object.keys(secrets).length) body.secrets = secrets
  return body
}

/** The credential form's schema for an edit: nothing is required (blank keeps what is stored). */
export function optionalSchema(schema: JsonSchema): JsonSchema {
  const { required: _required, ...rest } = schema
  return rest
}


export const STATUS_COLOR: Record<string, string> = {
  ok: 'success', expired: 'warning', refresh_failed: 'error', invalid: 'error',
}
