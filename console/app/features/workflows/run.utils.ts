// A test run drawn on the canvas: each node's state from the run's step attempts (the
// newest attempt of each instance; a for-each body's instances summed up), and what the
// node panel shows of its last run.

export interface StepLike {
  node_id: string; instance_key: string; attempt: number; status: string
  input: unknown; output: unknown; error: Record<string, unknown> | null; duration_ms: number | null
}
export interface NodeRunState {
  status: 'queued' | 'running' | 'success' | 'failed' | 'skipped' | 'canceled'
  /** Attempts made, over all instances. */
  attempts: number
  /** Instances (for-each items) that ran. */
  instances: number
  /** The newest attempt of the first instance: what the panel shows. */
  last: StepLike
}

const RANK: Record<string, number> = { failed: 5, running: 4, queued: 3, canceled: 2, success: 1, skipped: 0 }

export function nodeRunStates(steps: StepLike[]): Map<string, NodeRunState> {
  const newest = new Map<string, StepLike>() // node + instance → newest attempt
  const attempts = new Map<string, number>()
  for (const s of steps) {
    const key = `${s.node_id}\u0000${s.instance_key}`
    const seen = newest.get(key)
    if (!seen || s.attempt >= seen.attempt) newest.set(key, s)
    attempts.set(s.node_id, (attempts.get(s.node_id) ?? 0) + 1)
  }
  const out = new Map<string, NodeRunState>()
  for (const s of newest.values()) {
    const prev = out.get(s.node_id)
    if (!prev) {
      out.set(s.node_id, { status: s.status as NodeRunState['status'], attempts: attempts.get(s.node_id) ?? 1, instances: 1, last: s })
      continue
    }
    prev.instances += 1
    // the node's state is its most telling instance's: a failure, then work in progress
    if ((RANK[s.status] ?? 0) > (RANK[prev.status] ?? 0)) prev.status = s.status as NodeRunState['status']
    if (s.instance_key < prev.last.instance_key) prev.last = s
  }
  return out
}

export const RUN_DONE = new Set(['success', 'failed', 'canceled'])

/** The input a test run starts with: the start payload's `payload` (null when there is none). */
export function testInputText(startPayload: unknown): string {
  const payload = startPayload && typeof startPayload === 'object' && !Array.isArray(startPayload)
    ? (startPayload as { payload?: unknown }).payload ?? null : null
  return JSON.stringify(payload, null, 2)
}
