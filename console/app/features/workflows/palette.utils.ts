// The palette: node templates grouped (built-in steps, then one group per app, then the
// tenant's presets), searchable, and what a dropped template becomes as a node.

export interface StepTemplate {
  kind: 'step_type'; type: string; variant: string | null; title: string; description: string
  config_schema: Record<string, unknown>; default_config: Record<string, unknown> | null; ports: string[]
  needs_credentials?: boolean; secret_keys?: string[]
}
export interface ActionTemplate {
  kind: 'app_action'; type: string; ref: string; title: string; description: string; app_id: string
  input_schema: Record<string, unknown>; sample_input: Record<string, unknown>
  output_schema?: Record<string, unknown> | boolean; needs_connection?: boolean
}
export interface CustomTemplate {
  kind: 'custom'; type: string; ref: string; name: string; title: string; description: string
  config: Record<string, unknown>
}
export type Template = StepTemplate | ActionTemplate | CustomTemplate

export interface PaletteItem { key: string; title: string; description: string; template: Template }
export interface PaletteGroup { title: string; items: PaletteItem[] }

export const templateKey = (t: Template) =>
  t.kind === 'step_type' ? `step:${t.type}${t.variant ? `:${t.variant}` : ''}` : `${t.kind}:${t.ref}`

/** Groups in a stable order; `appName(id)` names an app's group. Empty groups are left out. */
export function paletteGroups(templates: Template[], search: string, appName: (id: string) => string = (id) => id): PaletteGroup[] {
  const needle = search.trim().toLowerCase()
  const hit = (t: Template) => !needle || [t.title, t.description, t.type, t.kind === 'step_type' ? '' : t.ref]
    .some((s) => s.toLowerCase().includes(needle))
  const groups = new Map<string, PaletteGroup>()
  const add = (group: string, t: Template) => {
    if (!hit(t)) return
    if (!groups.has(group)) groups.set(group, { title: group, items: [] })
    groups.get(group)!.items.push({ key: templateKey(t), title: t.title, description: t.description, template: t })
  }
  for (const t of templates) if (t.kind === 'step_type') add('Steps', t)
  const apps = templates.filter((t): t is ActionTemplate => t.kind === 'app_action')
    .sort((a, b) => appName(a.app_id).localeCompare(appName(b.app_id)) || a.title.localeCompare(b.title))
  for (const t of apps) add(appName(t.app_id), t)
  for (const t of templates) if (t.kind === 'custom') add('Presets', t)
  return [...groups.values()]
}

/** The node a template becomes: its type, template reference and starting config. */
export function nodeFromTemplate(t: Template): { type: string; template: string | null; config: Record<string, unknown> } {
  if (t.kind === 'step_type') return { type: t.type, template: null, config: structuredClone(t.default_config ?? {}) }
  if (t.kind === 'app_action') return { type: t.type, template: t.ref, config: { input: structuredClone(t.sample_input ?? {}) } }
  return { type: t.type, template: t.ref, config: {} }
}

/** The JSON schema of a node's config form (an action's `input` is its input schema). */
export function configSchema(t: Template | undefined): Record<string, unknown> | null {
  if (!t) return null
  if (t.kind === 'step_type') return t.config_schema
  if (t.kind === 'app_action') return { type: 'object', properties: { input: t.input_schema } }
  return null
}
