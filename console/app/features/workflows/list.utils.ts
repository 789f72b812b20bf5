// The workflows list's "updated" filter (the API filters status, enabled and text; the
// update time is filtered here over the rows it returned) and the duplicate's body.

export const UPDATED_WITHIN = [
  { title: 'Any time', value: null },
  { title: 'Last 24 hours', value: 1 },
  { title: 'Last 7 days', value: 7 },
  { title: 'Last 30 days', value: 30 },
] as const

export function updatedWithin<T extends { updated_at: string }>(items: T[], days: number | null, now = Date.now()): T[] {
  if (days == null) return items
  const since = now - days * 86_400_000
  return items.filter((f) => Date.parse(f.updated_at) >= since)
}

interface FlowLike {
  title: string; description: string; graph?: Record<string, unknown> | null; start_payload?: unknown
  input_schema?: Record<string, unknown> | null; env?: Record<string, string | number | boolean>
  secrets?: Record<string, { connection_id: string; field: string }>; run_timeout_seconds?: number | null
}

/** A copy of a workflow's draft and settings: a new draft, disabled, titled “… (copy)”. */
export function duplicateBody(flow: FlowLike) {
  const title = `${flow.title} (copy)`.slice(0, 200)
  return {
    title,
    description: flow.description,
    status: 'draft' as const,
    enabled: false,
    graph: flow.graph ?? null,
    start_payload: flow.start_payload && typeof flow.start_payload === 'object' && !Array.isArray(flow.start_payload)
      ? (flow.start_payload as Record<string, unknown>) : null,
    input_schema: flow.input_schema ?? null,
    env: flow.env ?? null,
    secrets: flow.secrets ?? null,
    run_timeout_seconds: flow.run_timeout_seconds ?? null,
  }
}
