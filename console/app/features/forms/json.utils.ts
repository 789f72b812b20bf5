// Pure helpers behind the JSON editor: parse with a position, and check a value is a JSON Schema.
import Ajv2020 from 'ajv/dist/2020'

export interface JsonIssue {
  message: string
  /** Character offset in the text, when known. */
  from?: number
}

export type Parsed = { ok: true; value: unknown } | { ok: false; issue: JsonIssue }

/** JSON.parse with the error's offset (V8 says "at position N" or "line L column C"). */
export function parseJson(text: string): Parsed {
  if (!text.trim()) return { ok: false, issue: { message: 'Empty: write a JSON value.' } }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return { ok: false, issue: { message, from: offsetOf(message, text) } }
  }
}

function offsetOf(message: string, text: string): number | undefined {
  const pos = /position (\d+)/.exec(message)
  if (pos) return Math.min(Number(pos[1]), text.length)
  const lc = /line (\d+) column (\d+)/.exec(message)
  if (!lc) return undefined
  const lines = text.split('\n').slice(0, Number(lc[1]) - 1)
  return Math.min(lines.reduce((n, l) => n + l.length + 1, 0) + Number(lc[2]) - 1, text.length)
}

let ajv: Ajv2020 | null = null

/** Problems that make `value` not a JSON Schema (Draft 2020-12, the connector format's dialect). */
export function schemaIssues(value: unknown): JsonIssue[] {
  if (typeof value === 'boolean') return []
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ message: 'A JSON Schema is an object (or true/false).' }]
  }
  ajv ??= new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  if (ajv.validateSchema(value as object)) return []
  return (ajv.errors ?? []).map((e) => ({ message: `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}` }))
}

export type JsonKind = 'json' | 'object' | 'schema' | 'string-map'

/** Everything wrong with `text` for a field of `kind` (empty: fine). */
export function jsonIssues(text: string, kind: JsonKind, { optional = false } = {}): JsonIssue[] {
  if (optional && !text.trim()) return []
  const parsed = parseJson(text)
  if (!parsed.ok) return [parsed.issue]
  const v = parsed.value
  if (kind === 'schema') return schemaIssues(v)
  const isObject = typeof v === 'object' && v !== null && !Array.isArray(v)
  if ((kind === 'object' || kind === 'string-map') && !isObject) return [{ message: 'Must be a JSON object.' }]
  if (kind === 'string-map') {
    const bad = Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x !== 'string').map(([k]) => k)
    if (bad.length) return [{ message: `Values must be strings (templates): ${bad.join(', ')}` }]
  }
  return []
}

export function pretty(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2)
}
