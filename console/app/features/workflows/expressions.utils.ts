// `{{ … }}` and JSONata autocompletion in a node's config: where the cursor is (inside a
// template, inside a `{"$jsonata": "…"}` marker, under which config key), what the node
// will see (its input's fields, from the last run or the upstream action's output schema),
// and the JSONata markers of a config, listed and edited one by one.

export interface FieldHint { path: string; detail: string }
export interface ExprSources {
  /** Fields of the node's input (seen flat: `{{ order.id }}`). */
  fields: FieldHint[]
  /** The workflow's environment variable names (`$env.NAME`). */
  env: string[]
  /** The workflow's secret names (`$secrets.NAME`), offered only under keys that may read them. */
  secrets: string[]
  /** Top-level config keys where `$secrets` may be read (the step type's `secret_keys`). */
  secretKeys: string[]
}
export interface ExprContext { kind: 'template' | 'jsonata'; partial: string; from: number; key: string | null }
export interface ExprOption { label: string; detail: string }

const PATH_SO_FAR = /^[A-Za-z0-9_$.\[\]'"-]*$/
const JSONATA_OPEN = /"\$jsonata"\s*:\s*"((?:[^"\\]|\\.)*)$/

/** Where the cursor at `offset` of a config's JSON text is, for completion (null: no expression here). */
export function expressionContext(text: string, offset: number): ExprContext | null {
  const before = text.slice(0, offset)
  const open = before.lastIndexOf('{{')
  if (open >= 0 && !before.slice(open).includes('}}')) {
    const partial = before.slice(open + 2).trimStart()
    if (PATH_SO_FAR.test(partial)) return { kind: 'template', partial, from: offset - partial.length, key: keyPathAt(text, offset)[0] ?? null }
  }
  const jsonata = JSONATA_OPEN.exec(before)
  if (jsonata) {
    const partial = /[A-Za-z0-9_$.]*$/.exec(jsonata[1] ?? '')?.[0] ?? ''
    return { kind: 'jsonata', partial, from: offset - partial.length, key: keyPathAt(text, offset)[0] ?? null }
  }
  return null
}

/** The object keys leading to `offset` in a (possibly unfinished) JSON text: `{"a": {"b": 1|` → ['a', 'b']. */
export function keyPathAt(text: string, offset: number): string[] {
  const stack: Array<{ obj: boolean; key: string | null }> = []
  let last: string | null = null
  let i = 0
  while (i < offset && i < text.length) {
    const c = text[i]
    if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (j >= offset) break // the cursor is inside this string
      try { last = JSON.parse(text.slice(i, j + 1)) as string } catch { last = text.slice(i + 1, j) }
      i = j + 1
      continue
    }
    if (c === '{' || c === '[') stack.push({ obj: c === '{', key: null })
    else if (c === '}' || c === ']') stack.pop()
    else if (c === ':') { const top = stack[stack.length - 1]; if (top?.obj) top.key = last }
    else if (c === ',') { const top = stack[stack.length - 1]; if (top?.obj) top.key = null }
    i++
  }
  return stack.filter((s) => s.obj && s.key !== null).map((s) => s.key as string)
}

const TRIGGER_KEYS = ['kind', 'id', 'delivery_id', 'external_id', 'slot', 'received_at', 'input']
const RUN_KEYS = ['id', 'workflow_id', 'workspace_id', 'mode', 'version', 'started_at', 'node', 'attempt']

/** What may complete the expression at `ctx`, filtered by what is typed so far. */
export function expressionOptions(ctx: ExprContext, sources: ExprSources): ExprOption[] {
  const options: ExprOption[] = sources.fields.map((f) => ({ label: f.path, detail: f.detail }))
  for (const name of sources.env) options.push({ label: `$env.${name}`, detail: 'environment variable' })
  // $secrets only in templates (JSONata never sees them) and only under a key that may read them
  if (ctx.kind === 'template' && ctx.key !== null && sources.secretKeys.includes(ctx.key)) {
    for (const name of sources.secrets) options.push({ label: `$secrets.${name}`, detail: 'secret (never shown)' })
  }
  for (const k of TRIGGER_KEYS) options.push({ label: `$trigger.${k}`, detail: 'what started the run' })
  for (const k of RUN_KEYS) options.push({ label: `$run.${k}`, detail: 'this run' })
  const typed = ctx.partial.toLowerCase()
  return options.filter((o) => o.label.toLowerCase().startsWith(typed))
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

/** Paths into a sample value (a last run's payload): `order`, `order.id`, `items[0].sku`… */
export function samplePaths(value: unknown, { maxDepth = 4, limit = 200 } = {}): FieldHint[] {
  const out: FieldHint[] = []
  const walk = (v: unknown, prefix: string, depth: number) => {
    if (out.length >= limit || depth > maxDepth) return
    if (Array.isArray(v)) {
      if (v.length && prefix) walk(v[0], `${prefix}[0]`, depth + 1)
      return
    }
    if (!v || typeof v !== 'object') return
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (out.length >= limit) return
      if (k.startsWith('$')) continue
      const path = prefix ? `${prefix}.${k}` : k
      out.push({ path, detail: typeOf(child) })
      if (Array.isArray(child) && child.length) out.push({ path: `${path}[0]`, detail: typeOf(child[0]) })
      walk(child, path, depth + 1)
    }
  }
  walk(value, '', 0)
  return out
}

/** Paths an object JSON schema describes (properties, array items as `[0]`). */
export function schemaPaths(schema: unknown, { maxDepth = 4, limit = 200 } = {}): FieldHint[] {
  const out: FieldHint[] = []
  const walk = (s: unknown, prefix: string, depth: number) => {
    if (!s || typeof s !== 'object' || depth > maxDepth || out.length >= limit) return
    const node = s as { type?: unknown; properties?: Record<string, unknown>; items?: unknown; description?: string }
    if (node.items && prefix) {
      const item = node.items as { type?: unknown }
      out.push({ path: `${prefix}[0]`, detail: String(item.type ?? 'item') })
      walk(node.items, `${prefix}[0]`, depth + 1)
    }
    for (const [k, child] of Object.entries(node.properties ?? {})) {
      if (out.length >= limit) return
      const path = prefix ? `${prefix}.${k}` : k
      const c = child as { type?: unknown; description?: string }
      out.push({ path, detail: [Array.isArray(c?.type) ? c.type.join('|') : c?.type ?? 'any', c?.description].filter(Boolean).join(' · ') })
      walk(child, path, depth + 1)
    }
  }
  walk(schema, '', 0)
  return out
}

export interface Marker { path: string[]; expression: string }

/** Every `{"$jsonata": "…"}` marker in a config, with the keys leading to it. */
export function jsonataMarkers(config: unknown, path: string[] = []): Marker[] {
  if (Array.isArray(config)) return config.flatMap((v, i) => jsonataMarkers(v, [...path, String(i)]))
  if (!config || typeof config !== 'object') return []
  const obj = config as Record<string, unknown>
  const keys = Object.keys(obj)
  if (keys.length === 1 && keys[0] === '$jsonata' && typeof obj.$jsonata === 'string') return [{ path, expression: obj.$jsonata }]
  return keys.flatMap((k) => jsonataMarkers(obj[k], [...path, k]))
}

/** A copy of `config` with `value` at `path` (objects and arrays copied along the way). */
export function setAt<T>(config: T, path: string[], value: unknown): T {
  if (!path.length) return value as T
  const [head, ...rest] = path as [string, ...string[]]
  if (Array.isArray(config)) {
    const copy = [...config]
    copy[Number(head)] = setAt(copy[Number(head)], rest, value)
    return copy as T
  }
  const obj = (config && typeof config === 'object' ? config : {}) as Record<string, unknown>
  return { ...obj, [head]: setAt(obj[head], rest, value) } as T
}

export interface Upstream { id: string; type: string; outputSchema?: unknown }
export interface HintInputs {
  /** The direct predecessors of the node (their output is its input). */
  upstream: Upstream[]
  /** The node's own input in the last run, when it ran. */
  lastInput?: unknown
  /** Each node's output in the last run. */
  lastOutputs?: Map<string, unknown>
  /** The workflow's start payload's `payload` and input schema (what a start node passes on). */
  startPayload?: unknown
  inputSchema?: unknown
}

/** The fields a node will see: its last input if it ran, else what each predecessor gave or would give. */
export function inputFields(h: HintInputs): FieldHint[] {
  if (h.lastInput !== undefined) return samplePaths(h.lastInput)
  const seen = new Map<string, FieldHint>()
  const add = (hints: FieldHint[]) => { for (const f of hints) if (!seen.has(f.path)) seen.set(f.path, f) }
  for (const u of h.upstream) {
    const last = h.lastOutputs?.get(u.id)
    if (last !== undefined) add(samplePaths(last))
    else if (u.type === 'start') { add(samplePaths(h.startPayload)); add(schemaPaths(h.inputSchema)) }
    else if (u.outputSchema) add(schemaPaths(u.outputSchema))
  }
  return [...seen.values()]
}
