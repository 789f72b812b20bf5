// The live state of one run: the attempts the API answered, kept current by the run's
// events (the SSE stream), and what the run page derives from them (per-node summaries,
// the timeline's rows and bars). Pure: no I/O, no Vue.
import type { Schemas } from '~/api/types'

export type Step = Schemas['StepAttempt']
export type StepStatus = Step['status']
export type RunStatus = Schemas['Run']['status']

/** One event of the run's stream (the `data:` JSON of each server-sent event). */
export interface RunStreamEvent {
  seq: number
  type: string
  step_id: string | null
  node_id: string | null
  data: Record<string, unknown>
  at: string
}

export interface LiveRun {
  status: RunStatus
  error: Record<string, unknown> | null
  lastSeq: number
  steps: Map<string, Step>
  /** Attempts sent to quarantine (retries exhausted), by step id. */
  quarantined: Set<string>
}

export const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(['success', 'failed', 'canceled'])

export function liveRun(run: { status: RunStatus; error: unknown; last_event_id: number; steps: Step[] }): LiveRun {
  return {
    status: run.status,
    error: (run.error as Record<string, unknown> | null) ?? null,
    lastSeq: run.last_event_id,
    steps: new Map(run.steps.map((s) => [s.id, s])),
    quarantined: new Set(),
  }
}

type NodeInfo = (nodeId: string) => { type: string; template: string | null }

function blankStep(runId: string, ev: RunStreamEvent, info: NodeInfo, status: StepStatus): Step {
  const nodeId = ev.node_id ?? ''
  const { type, template } = info(nodeId)
  const attempt = typeof ev.data.attempt === 'number' ? ev.data.attempt : 1
  const instance = typeof ev.data.instance_key === 'string' ? ev.data.instance_key : ''
  return {
    id: ev.step_id ?? '', run_id: runId, node_id: nodeId, instance_key: instance, attempt,
    idempotency_key: '', node_type: type, template, status, input: null, output: null, error: null,
    not_before: typeof ev.data.not_before === 'string' ? ev.data.not_before : null, dispatched_at: null,
    lease_seconds: 0, lease_expires_at: null, reclaims: 0, duration_ms: null, started_at: null,
    finished_at: status === 'skipped' ? ev.at : null, created_at: ev.at,
  }
}

/**
 * Apply events (in seq order) to the run; older or repeated events are ignored, so a
 * reconnect that replays from `Last-Event-ID` never double-counts. Returns whether
 * anything changed.
 */
export function applyEvents(run: LiveRun, runId: string, events: RunStreamEvent[], info: NodeInfo): boolean {
  let changed = false
  for (const ev of events) {
    if (ev.seq <= run.lastSeq) continue
    run.lastSeq = ev.seq
    changed = true
    const id = ev.step_id
    const known = id ? run.steps.get(id) : undefined
    const set = (patch: Partial<Step>) => { if (known && id) run.steps.set(id, { ...known, ...patch }) }
    switch (ev.type) {
      case 'step.queued':
        if (id && !known) run.steps.set(id, blankStep(runId, ev, info, 'queued'))
        break
      case 'step.skipped':
        if (id && !known) run.steps.set(id, blankStep(runId, ev, info, 'skipped'))
        break
      case 'step.started':
        if (id && !known) run.steps.set(id, { ...blankStep(runId, ev, info, 'running'), started_at: ev.at })
        else set({ status: 'running', started_at: ev.at })
        break
      case 'step.succeeded':
        set({ status: 'success', finished_at: ev.at,
          duration_ms: typeof ev.data.duration_ms === 'number' ? ev.data.duration_ms : known?.duration_ms ?? null })
        break
      case 'step.failed':
        set({ status: 'failed', finished_at: ev.at,
          error: { ...(known?.error ?? {}), code: ev.data.code ?? null, retryable: ev.data.retryable ?? null } })
        break
      case 'step.canceled':
        set({ status: 'canceled', finished_at: ev.at })
        break
      case 'step.requeued':
        set({ status: 'queued', started_at: null,
          reclaims: typeof ev.data.reclaims === 'number' ? ev.data.reclaims : (known?.reclaims ?? 0) + 1 })
        break
      case 'step.quarantined':
        if (id) run.quarantined.add(id)
        break
      case 'run.finished':
        run.status = (ev.data.status as RunStatus) ?? run.status
        run.error = (ev.data.error as Record<string, unknown> | null) ?? null
        break
      case 'run.reopened':
        run.status = 'running'
        break
      default:
        break
    }
  }
  return changed
}

export type NodeState = 'idle' | 'queued' | 'running' | 'success' | 'failed' | 'skipped' | 'canceled'

export interface NodeSummary {
  nodeId: string
  state: NodeState
  /** Instances (one, or one per for-each item) by the status of their latest attempt. */
  counts: Partial<Record<StepStatus, number>>
  instances: number
  attempts: number
  retries: number
  /** From the first start to the last finish (or now, while running), ms. */
  durationMs: number | null
}

const ms = (t: string | null | undefined) => (t ? Date.parse(t) : NaN)

/** Per graph node: the state of its instances (latest attempt of each), attempts, retries, duration. */
export function nodeSummaries(steps: Iterable<Step>, now = Date.now()): Map<string, NodeSummary> {
  const latest = new Map<string, Step>()
  const byNode = new Map<string, { attempts: number; retries: number; first: number; last: number; open: boolean }>()
  for (const s of steps) {
    const key = `${s.node_id}\u0000${s.instance_key}`
    const prev = latest.get(key)
    if (!prev || s.attempt > prev.attempt || (s.attempt === prev.attempt && s.created_at > prev.created_at)) latest.set(key, s)
    const agg = byNode.get(s.node_id) ?? { attempts: 0, retries: 0, first: Infinity, last: -Infinity, open: false }
    agg.attempts += 1
    if (s.attempt > 1) agg.retries += 1
    const start = ms(s.started_at)
    if (!Number.isNaN(start)) agg.first = Math.min(agg.first, start)
    const end = ms(s.finished_at)
    if (!Number.isNaN(end) && s.status !== 'skipped') agg.last = Math.max(agg.last, end)
    if (s.status === 'running') agg.open = true
    byNode.set(s.node_id, agg)
  }
  const out = new Map<string, NodeSummary>()
  for (const s of latest.values()) {
    const sum = out.get(s.node_id) ?? { nodeId: s.node_id, state: 'idle', counts: {}, instances: 0, attempts: 0, retries: 0, durationMs: null }
    sum.counts[s.status] = (sum.counts[s.status] ?? 0) + 1
    sum.instances += 1
    out.set(s.node_id, sum)
  }
  for (const [nodeId, sum] of out) {
    const agg = byNode.get(nodeId)!
    sum.attempts = agg.attempts
    sum.retries = agg.retries
    const end = agg.open ? now : agg.last
    sum.durationMs = Number.isFinite(agg.first) && Number.isFinite(end) ? Math.max(0, end - agg.first) : null
    sum.state = nodeState(sum.counts)
  }
  return out
}

export function nodeState(c: Partial<Record<StepStatus, number>>): NodeState {
  if (c.running) return 'running'
  if (c.queued) return 'queued'
  if (c.failed) return 'failed'
  if (c.canceled) return 'canceled'
  if (c.success) return 'success'
  if (c.skipped) return 'skipped'
  return 'idle'
}

export interface TimelineRow { key: string; nodeId: string; instanceKey: string; label: string }
export interface TimelineBar {
  row: number
  stepId: string
  attempt: number
  kind: 'wait' | 'run'
  status: StepStatus
  start: number
  end: number
}

/**
 * The Gantt of a run: one row per node instance (in the order they were first queued),
 * per attempt a `wait` bar (queued until started: a retry's backoff, a delay) and a `run`
 * bar (started until finished, or until now while it runs). Skipped instances get a
 * zero-length `run` bar so the row still shows them.
 */
export function timeline(steps: Iterable<Step>, name: (nodeId: string) => string, now = Date.now()):
{ rows: TimelineRow[]; bars: TimelineBar[]; start: number; end: number } {
  // queued order; instances queued together (a fan-out) by their item index, then attempts
  const sorted = [...steps].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1
    : a.node_id !== b.node_id ? 0 : a.instance_key.localeCompare(b.instance_key, 'en', { numeric: true }) || a.attempt - b.attempt))
  const rows: TimelineRow[] = []
  const index = new Map<string, number>()
  const bars: TimelineBar[] = []
  let start = Infinity
  let end = -Infinity
  for (const s of sorted) {
    const key = `${s.node_id}\u0000${s.instance_key}`
    let row = index.get(key)
    if (row === undefined) {
      row = rows.length
      index.set(key, row)
      rows.push({ key, nodeId: s.node_id, instanceKey: s.instance_key, label: s.instance_key ? `${name(s.node_id)} [${s.instance_key}]` : name(s.node_id) })
    }
    const created = ms(s.created_at)
    const started = ms(s.started_at)
    const finished = ms(s.finished_at)
    const base = { row, stepId: s.id, attempt: s.attempt, status: s.status }
    if (s.status === 'skipped') {
      const at = Number.isNaN(finished) ? created : finished
      bars.push({ ...base, kind: 'run', start: at, end: at })
      start = Math.min(start, at)
      end = Math.max(end, at)
      continue
    }
    const waitEnd = Number.isNaN(started) ? (Number.isNaN(finished) ? now : finished) : started
    if (waitEnd > created) bars.push({ ...base, kind: 'wait', status: Number.isNaN(started) ? s.status : 'queued', start: created, end: waitEnd })
    if (!Number.isNaN(started)) {
      const runEnd = Number.isNaN(finished) ? now : finished
      bars.push({ ...base, kind: 'run', start: started, end: Math.max(runEnd, started) })
      end = Math.max(end, runEnd)
    }
    start = Math.min(start, created)
    end = Math.max(end, waitEnd)
  }
  if (!Number.isFinite(start)) { start = now; end = now }
  return { rows, bars, start, end }
}

/** "850 ms", "12.4 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(msValue: number | null | undefined): string {
  if (msValue === null || msValue === undefined || Number.isNaN(msValue)) return '—'
  if (msValue < 1000) return `${Math.round(msValue)} ms`
  const s = msValue / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}

export const STATUS_COLOR: Record<StepStatus | NodeState | RunStatus, string> = {
  idle: 'grey', queued: 'info', running: 'primary', success: 'success', failed: 'error', skipped: 'grey',
  canceled: 'warning',
}
