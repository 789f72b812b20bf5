// The workflow's run settings as the editor shows them: the start payload (default
// `{"payload": null}`, kept exactly as written), environment variables as typed rows,
// and secret references (a connection and one of its fields; the value is never shown).

export const DEFAULT_START_PAYLOAD = { payload: null }

/** The start payload's text: the stored one as it is, or the default for a workflow that has none. */
export function startPayloadText(stored: unknown): string {
  return JSON.stringify(stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : DEFAULT_START_PAYLOAD, null, 2)
}

export type EnvType = 'string' | 'number' | 'boolean'
export interface EnvRow { name: string; type: EnvType; value: string }
export type EnvValue = string | number | boolean

export function envRows(env: Record<string, EnvValue> | null | undefined): EnvRow[] {
  return Object.entries(env ?? {}).map(([name, v]) => ({
    name, type: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string', value: String(v),
  }))
}

export interface RowIssue { row: number; message: string }

/** Rows → the `env` object, with what is wrong per row (an empty name, a repeated one, a value not of its type). */
export function envFromRows(rows: EnvRow[]): { env: Record<string, EnvValue>; issues: RowIssue[] } {
  const env: Record<string, EnvValue> = {}
  const issues: RowIssue[] = []
  rows.forEach((r, row) => {
    const name = r.name.trim()
    if (!name) { issues.push({ row, message: 'A name is needed.' }); return }
    if (name in env) { issues.push({ row, message: `“${name}” is defined twice.` }); return }
    if (r.type === 'number') {
      const n = Number(r.value)
      if (r.value.trim() === '' || !Number.isFinite(n)) { issues.push({ row, message: 'Not a number.' }); return }
      env[name] = n
    } else if (r.type === 'boolean') {
      if (r.value !== 'true' && r.value !== 'false') { issues.push({ row, message: 'true or false.' }); return }
      env[name] = r.value === 'true'
    } else {
      env[name] = r.value
    }
  })
  return { env, issues }
}

export interface SecretRef { connection_id: string; field: string }
export interface SecretRow { name: string; connection_id: string | null; field: string | null }

export function secretRows(secrets: Record<string, SecretRef> | null | undefined): SecretRow[] {
  return Object.entries(secrets ?? {}).map(([name, ref]) => ({ name, connection_id: ref.connection_id, field: ref.field }))
}

export function secretsFromRows(rows: SecretRow[]): { secrets: Record<string, SecretRef>; issues: RowIssue[] } {
  const secrets: Record<string, SecretRef> = {}
  const issues: RowIssue[] = []
  rows.forEach((r, row) => {
    const name = r.name.trim()
    if (!name) issues.push({ row, message: 'A name is needed.' })
    else if (name in secrets) issues.push({ row, message: `“${name}” is defined twice.` })
    else if (!r.connection_id || !r.field) issues.push({ row, message: 'Pick a connection and one of its fields.' })
    else secrets[name] = { connection_id: r.connection_id, field: r.field }
  })
  return { secrets, issues }
}

/** The fields a secret may name: a connection's credential keys (their values are masked, and not shown here). */
export function secretFields(connection: { credentials?: Record<string, unknown> } | undefined): string[] {
  return Object.keys(connection?.credentials ?? {}).sort()
}
