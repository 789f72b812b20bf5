// The runs list: its filters as the page's URL query and as the API's query.
export const RUN_STATUSES = ['running', 'success', 'failed', 'canceled'] as const
export const RUN_MODES = ['test', 'production'] as const
export const RUN_TRIGGERS = ['manual', 'webhook', 'cron', 'rerun', 'api'] as const
export const TIME_RANGES = [
  { title: 'Last hour', value: '1h', ms: 3_600_000 },
  { title: 'Last 24 hours', value: '24h', ms: 86_400_000 },
  { title: 'Last 7 days', value: '7d', ms: 7 * 86_400_000 },
  { title: 'Last 30 days', value: '30d', ms: 30 * 86_400_000 },
] as const

export interface RunFilters {
  workflow: string | null
  status: (typeof RUN_STATUSES)[number] | null
  mode: (typeof RUN_MODES)[number] | null
  trigger: (typeof RUN_TRIGGERS)[number] | null
  range: (typeof TIME_RANGES)[number]['value'] | null
}

const pick = <T extends string>(allowed: readonly T[], v: unknown): T | null =>
  typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : null
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The filters from the page's query string (unknown values dropped). */
export function filtersFromQuery(q: Record<string, unknown>): RunFilters {
  const one = (v: unknown) => (Array.isArray(v) ? v[0] : v)
  const workflow = one(q.workflow)
  return {
    workflow: typeof workflow === 'string' && UUID.test(workflow) ? workflow : null,
    status: pick(RUN_STATUSES, one(q.status)),
    mode: pick(RUN_MODES, one(q.mode)),
    trigger: pick(RUN_TRIGGERS, one(q.trigger)),
    range: pick(TIME_RANGES.map((r) => r.value), one(q.range)),
  }
}

/** The filters as the page's query string (only those set). */
export function filtersToQuery(f: RunFilters): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(f)) if (v) out[k] = v
  return out
}

/** The API query of `GET /api/workspaces/{ws}/runs` for these filters. */
export function apiQuery(f: RunFilters, now = Date.now()) {
  const range = TIME_RANGES.find((r) => r.value === f.range)
  return {
    ...(f.workflow ? { flow_id: f.workflow } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.mode ? { mode: f.mode } : {}),
    ...(f.trigger ? { trigger: f.trigger } : {}),
    ...(range ? { created_after: new Date(now - range.ms).toISOString() } : {}),
  }
}
