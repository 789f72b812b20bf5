// Schema preparation for the generated forms (JSON Forms renders; this only adapts the schema).

export type JsonSchema = Record<string, unknown>

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A copy where every `writeOnly` string is rendered as a password field (masked as typed, never prefilled). */
export function maskWriteOnly(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (!isObject(node)) return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) out[k] = walk(v)
    if (out.writeOnly === true && (out.type === 'string' || out.type === undefined)) {
      out.type = 'string'
      out.format = 'password'
    }
    return out
  }
  return walk(schema) as JsonSchema
}

const REQUIRED_ONLY = (v: unknown) => isObject(v) && Object.keys(v).every((k) => k === 'required')

/**
 * The schema as the form generator should see it: `$id`/`$schema` removed (they re-base the
 * renderers' references), combinators that only say which fields are required (`anyOf:
 * [{required: [a]}, {required: [b]}]`) left to the API's validation, and object sections
 * that declare no field (an empty `path` or `query`) left out.
 */
export function formSchema(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (!isObject(node)) return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      if (k === '$id' || k === '$schema') continue
      if ((k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v) && v.every(REQUIRED_ONLY)) continue
      out[k] = walk(v)
    }
    if (isObject(out.properties)) {
      const required = new Set(Array.isArray(out.required) ? out.required : [])
      out.properties = Object.fromEntries(Object.entries(out.properties).filter(([name, p]) =>
        required.has(name) || !(isObject(p) && p.type === 'object' && !hasFields(p) && !isObject(p.additionalProperties))))
    }
    return out
  }
  return walk(schema) as JsonSchema
}

/** Names of the top-level properties marked `writeOnly` (the secrets). */
export function writeOnlyFields(schema: JsonSchema | null | undefined): string[] {
  const props = isObject(schema?.properties) ? schema.properties : {}
  return Object.entries(props).filter(([, p]) => isObject(p) && p.writeOnly === true).map(([k]) => k)
}

/** Whether the schema asks for anything (an object schema with properties). */
export function hasFields(schema: JsonSchema | null | undefined): boolean {
  return isObject(schema?.properties) && Object.keys(schema.properties).length > 0
}

/** Top-level `default`s of an object schema, for a new form's starting data. */
export function defaultsOf(schema: JsonSchema | null | undefined): Record<string, unknown> {
  const props = isObject(schema?.properties) ? schema.properties : {}
  const out: Record<string, unknown> = {}
  for (const [k, p] of Object.entries(props)) if (isObject(p) && 'default' in p) out[k] = p.default
  return out
}

/** Drop empty strings (untouched optional fields), so the API applies its defaults. */
export function withoutBlanks(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== '' && v !== undefined && v !== null))
}

/** The Vuetify renderers report text edits 300 ms after the last key; wait this long before sending a form. */
export const FORM_SETTLE_MS = 320

export function settleForm(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, FORM_SETTLE_MS))
}
