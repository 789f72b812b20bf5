import { describe, expect, it } from 'vitest'
import { applyEvents, formatDuration, liveRun, nodeSummaries, nodeState, timeline, type RunStreamEvent, type Step } from './runState.utils'

const RUN = 'r1'
const T0 = Date.parse('2026-11-27T10:00:00Z')
const at = (s: number) => new Date(T0 + s * 1000).toISOString()
const info = (id: string) => ({ type: id === 'each' ? 'for_each' : 'transform', template: null })

function step(p: Partial<Step> & { id: string; node_id: string }): Step {
  return {
    run_id: RUN, instance_key: '', attempt: 1, idempotency_key: '', node_type: 'transform', template: null,
    status: 'success', input: null, output: null, error: null, not_before: null, dispatched_at: null, lease_seconds: 30,
    lease_expires_at: null, reclaims: 0, duration_ms: null, started_at: null, finished_at: null, created_at: at(0), ...p,
  }
}
let seq = 10
const ev = (type: string, step_id: string | null, node_id: string | null, data: Record<string, unknown> = {}, s = 0): RunStreamEvent =>
  ({ seq: ++seq, type, step_id, node_id, data, at: at(s) })

describe('applyEvents', () => {
  it('follows a step from queued to success and the run to its end', () => {
    const run = liveRun({ status: 'running', error: null, last_event_id: 10, steps: [] })
    const events = [
      ev('step.queued', 's1', 'a', { attempt: 1, instance_key: null }, 0),
      ev('step.started', 's1', 'a', { attempt: 1 }, 1),
      ev('step.succeeded', 's1', 'a', { attempt: 1, duration_ms: 850 }, 2),
      ev('run.finished', null, null, { status: 'success', error: null }, 3),
    ]
    expect(applyEvents(run, RUN, events, info)).toBe(true)
    const s = run.steps.get('s1')!
    expect(s).toMatchObject({ status: 'success', node_type: 'transform', started_at: at(1), finished_at: at(2), duration_ms: 850, instance_key: '' })
    expect(run.status).toBe('success')
    expect(run.lastSeq).toBe(seq)
    // a replay after a reconnect changes nothing
    expect(applyEvents(run, RUN, events, info)).toBe(false)
    expect(run.steps.size).toBe(1)
  })

  it('records failures, retries, requeues, skips, cancels and quarantine', () => {
    const run = liveRun({ status: 'running', error: null, last_event_id: seq, steps: [step({ id: 'x', node_id: 'a', status: 'running', started_at: at(0) })] })
    applyEvents(run, RUN, [
      ev('step.failed', 'x', 'a', { attempt: 1, code: 'http_500', retryable: true }, 1),
      ev('step.retrying', 'x', 'a', { next_attempt: 2, delay_seconds: 2 }, 1),
      ev('step.queued', 'y', 'a', { attempt: 2, not_before: at(3) }, 1),
      ev('step.started', 'y', 'a', { attempt: 2 }, 3),
      ev('step.requeued', 'y', 'a', { attempt: 2, reclaims: 1 }, 4),
      ev('step.quarantined', 'x', 'a', { attempt: 1 }, 4),
      ev('step.skipped', 'z', 'b', { instance_key: null }, 5),
      ev('step.queued', 'w', 'c', {}, 5),
      ev('step.canceled', 'w', 'c', {}, 6),
    ], info)
    expect(run.steps.get('x')).toMatchObject({ status: 'failed', error: { code: 'http_500', retryable: true }, finished_at: at(1) })
    expect(run.steps.get('y')).toMatchObject({ status: 'queued', attempt: 2, started_at: null, reclaims: 1, not_before: at(3) })
    expect(run.steps.get('z')).toMatchObject({ status: 'skipped', finished_at: at(5) })
    expect(run.steps.get('w')?.status).toBe('canceled')
    expect(run.quarantined.has('x')).toBe(true)
    applyEvents(run, RUN, [ev('run.finished', null, null, { status: 'failed', error: { code: 'step_failed' } }), ev('run.reopened', null, null, { reason: 'redrive' })], info)
    expect(run.status).toBe('running')
  })
})

describe('nodeSummaries', () => {
  it('counts the latest attempt of each instance, attempts and retries, and derives the node state', () => {
    const steps = [
      step({ id: '1', node_id: 'each', status: 'success', started_at: at(0), finished_at: at(1) }),
      step({ id: '2', node_id: 'item', instance_key: '0', status: 'success', started_at: at(1), finished_at: at(2) }),
      step({ id: '3', node_id: 'item', instance_key: '1', status: 'failed', started_at: at(1), finished_at: at(2) }),
      step({ id: '4', node_id: 'item', instance_key: '1', attempt: 2, status: 'running', started_at: at(3), created_at: at(2) }),
      step({ id: '5', node_id: 'no', status: 'skipped', finished_at: at(1) }),
    ]
    const s = nodeSummaries(steps, T0 + 10_000)
    expect(s.get('item')).toMatchObject({ instances: 2, attempts: 3, retries: 1, counts: { success: 1, running: 1 }, state: 'running', durationMs: 9000 })
    expect(s.get('each')).toMatchObject({ state: 'success', durationMs: 1000, instances: 1 })
    expect(s.get('no')).toMatchObject({ state: 'skipped', durationMs: null })
  })

  it('orders states: running, queued, failed, canceled, success, skipped', () => {
    expect(nodeState({ success: 3, failed: 1 })).toBe('failed')
    expect(nodeState({ success: 3, queued: 1, failed: 1 })).toBe('queued')
    expect(nodeState({ skipped: 2, success: 1 })).toBe('success')
    expect(nodeState({})).toBe('idle')
  })
})

describe('timeline', () => {
  it('draws one row per instance with wait and run bars per attempt', () => {
    const steps = [
      step({ id: 'b', node_id: 'a', attempt: 2, status: 'success', created_at: at(2), started_at: at(5), finished_at: at(6) }),
      step({ id: 'a', node_id: 'a', status: 'failed', created_at: at(0), started_at: at(0), finished_at: at(2) }),
      step({ id: 'c', node_id: 'i', instance_key: '7', status: 'running', created_at: at(6), started_at: at(6) }),
      step({ id: 'd', node_id: 's', status: 'skipped', created_at: at(6), finished_at: at(6) }),
      step({ id: 'e', node_id: 'q', status: 'queued', created_at: at(7) }),
    ]
    const t = timeline(steps, (id) => id.toUpperCase(), T0 + 9000)
    expect(t.rows.map((r) => r.label)).toEqual(['A', 'I [7]', 'S', 'Q'])
    expect(t.bars.filter((b) => b.row === 0).map((b) => [b.attempt, b.kind, b.status, (b.start - T0) / 1000, (b.end - T0) / 1000])).toEqual([
      [1, 'run', 'failed', 0, 2], [2, 'wait', 'queued', 2, 5], [2, 'run', 'success', 5, 6],
    ])
    expect(t.bars.find((b) => b.stepId === 'c')).toMatchObject({ kind: 'run', end: T0 + 9000 })
    expect(t.bars.find((b) => b.stepId === 'd')).toMatchObject({ kind: 'run', start: T0 + 6000, end: T0 + 6000 })
    expect(t.bars.find((b) => b.stepId === 'e')).toMatchObject({ kind: 'wait', status: 'queued', end: T0 + 9000 })
    expect([t.start - T0, t.end - T0]).toEqual([0, 9000])
  })

  it('orders the instances of one fan-out by their item index', () => {
    const fan = ['10', '2', '100', '1'].map((k) => step({ id: k, node_id: 'i', instance_key: k, created_at: at(1) }))
    expect(timeline(fan, (x) => x, T0).rows.map((r) => r.instanceKey)).toEqual(['1', '2', '10', '100'])
  })

  it('is empty but bounded without steps', () => {
    expect(timeline([], (x) => x, 5)).toEqual({ rows: [], bars: [], start: 5, end: 5 })
  })
})

it('formats durations', () => {
  expect([formatDuration(null), formatDuration(850), formatDuration(1234), formatDuration(12_345), formatDuration(185_000), formatDuration(7_440_000)])
    .toEqual(['—', '850 ms', '1.23 s', '12.3 s', '3 min 05 s', '2 h 04 min'])
})
