// The action editor's form <-> the action as written in the connector document.
import { jsonIssues, parseJson, pretty } from '../forms/json.utils'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export type Method = (typeof METHODS)[number]

/** The JSON fields of an action: document key, label, and what the text must be. */
export const JSON_FIELDS = [
  { key: 'headers', label: 'Headers (templates)', kind: 'string-map' },
  { key: 'path_schema', label: 'Path schema', kind: 'schema' },
  { key: 'query_schema', label: 'Query schema', kind: 'schema' },
  { key: 'body_schema', label: 'Body schema', kind: 'schema' },
  { key: 'output_schema', label: 'Output schema', kind: 'schema' },
  { key: 'sample_input', label: 'Sample input', kind: 'object' },
] as const
export type JsonField = (typeof JSON_FIELDS)[number]['key']

/** The retry vocabulary of a workflow node's `retry`, plus the budget of calls made outside a workflow. */
export interface RetryForm {
  max_attempts: string
  base_delay: string
  max_delay: string
  max_total_seconds: string
}
export const RETRY_FIELDS: Array<{ key: keyof RetryForm; label: string; integer: boolean }> = [
  { key: 'max_attempts', label: 'Max attempts', integer: true },
  { key: 'base_delay', label: 'First back-off (s)', integer: false },
  { key: 'max_delay', label: 'Max back-off (s)', integer: false },
  { key: 'max_total_seconds', label: 'Total budget (s)', integer: false },
]

export interface ActionForm {
  key: string
  name: string
  description: string
  method: Method
  path: string
  json: Record<JsonField, string>
  /** Empty strings: inherit the app's defaults. */
  retry: RetryForm
  timeout_seconds: string
}

type Doc = Record<string, unknown>

const num = (v: unknown) => (typeof v === 'number' ? String(v) : '')

export function emptyActionForm(): ActionForm {
  return fromDocument({ method: 'GET', path: '/' })
}

/** The form for an action document (fields it does not show are kept by the caller). */
export function fromDocument(doc: Doc): ActionForm {
  const retry = (doc.retry ?? {}) as Doc
  const json = Object.fromEntries(JSON_FIELDS.map((f) => [f.key, doc[f.key] === undefined ? '' : pretty(doc[f.key])]))
  return {
    key: String(doc.key ?? ''), name: String(doc.name ?? ''), description: String(doc.description ?? ''),
    method: (METHODS as readonly string[]).includes(String(doc.method)) ? (doc.method as Method) : 'GET',
    path: String(doc.path ?? '/'),
    json: json as Record<JsonField, string>,
    retry: {
      // older documents name the delays initial_backoff_seconds / max_backoff_seconds
      max_attempts: num(retry.max_attempts), base_delay: num(retry.base_delay ?? retry.initial_backoff_seconds),
      max_delay: num(retry.max_delay ?? retry.max_backoff_seconds), max_total_seconds: num(retry.max_total_seconds),
    },
    timeout_seconds: num(doc.timeout_seconds),
  }
}

/** Problems the form has before it is sent, keyed by field (the API checks the rest). */
export function formIssues(form: ActionForm): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {}
  for (const f of JSON_FIELDS) {
    const issue = jsonIssues(form.json[f.key], f.kind, { optional: true })[0]
    if (issue) out[f.key] = issue.message
  }
  for (const f of RETRY_FIELDS) {
    const v = form.retry[f.key].trim()
    if (v && !(Number(v) >= 0) ) out[`retry.${f.key}`] = 'A number ≥ 0.'
    else if (v && f.integer && !Number.isInteger(Number(v))) out[`retry.${f.key}`] = 'A whole number.'
  }
  const t = form.timeout_seconds.trim()
  if (t && !(Number(t) > 0)) out.timeout_seconds = 'A number of seconds > 0.'
  return out
}

/**
 * The action document for the form. `null` marks a field the form cleared (PATCH removes it);
 * for a create, pass `forCreate` to leave those out instead.
 */
export function toDocument(form: ActionForm, { forCreate = false } = {}): Doc {
  const doc: Doc = {
    key: form.key.trim(), name: form.name.trim(), method: form.method, path: form.path.trim(),
    description: form.description.trim() || null,
  }
  for (const f of JSON_FIELDS) {
    const text = form.json[f.key]
    const parsed = text.trim() ? parseJson(text) : null
    doc[f.key] = parsed && parsed.ok ? parsed.value : null
  }
  const retry: Doc = {}
  for (const f of RETRY_FIELDS) {
    const v = form.retry[f.key].trim()
    if (v) retry[f.key] = Number(v)
  }
  doc.retry = Object.keys(retry).length ? retry : null
  doc.timeout_seconds = form.timeout_seconds.trim() ? Number(form.timeout_seconds) : null
  if (forCreate) for (const k of Object.keys(doc)) if (doc[k] === null) delete doc[k]
  return doc
}

/** The API's field pointer for an action body (e.g. "/body_schema/type") -> the form field it concerns. */
export function fieldOfPointer(pointer: string): string {
  const [first, second] = pointer.split('/').filter(Boolean)
  if (first === 'retry' && second) return `retry.${second}`
  return first ?? ''
}
