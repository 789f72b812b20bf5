import { describe, expect, it } from 'vitest'
import { bucketName, latencyRows, runSeries, sinceOf, totals } from './metrics.utils'

const T = Date.parse('2026-11-27T12:00:00Z')
const iso = (min: number) => new Date(T + min * 60_000).toISOString()

describe('metrics series', () => {
  it('fills every bucket from since to now and sums by status', () => {
    const s = runSeries({
      since: iso(-0.5), bucket_seconds: 60,
      runs_over_time: [
        { at: iso(0), status: 'success', count: 3 }, { at: iso(0), status: 'failed', count: 1 },
        { at: iso(2), status: 'running', count: 2 }, { at: iso(-60), status: 'success', count: 9 },
      ],
    }, T + 2.5 * 60_000)
    expect(s.buckets.map((b) => (b - T) / 60_000)).toEqual([-1, 0, 1, 2])
    expect(s.byStatus.success).toEqual([0, 3, 0, 0])
    expect(s.byStatus.failed).toEqual([0, 1, 0, 0])
    expect(s.byStatus.running).toEqual([0, 0, 0, 2])
    expect(s.errorRate).toEqual([null, 0.25, null, null])
  })

  it('orders templates by p95, slowest first', () => {
    const rows = latencyRows({ steps: [
      { template: 'transform', step_type: 'transform', attempts: 10, failed: 0, error_rate: 0, p50_ms: 1, p95_ms: 2 },
      { template: null, step_type: 'http_request', attempts: 4, failed: 1, error_rate: 0.25, p50_ms: 50, p95_ms: 300 },
      { template: 'x', step_type: 'action', attempts: 1, failed: 1, error_rate: 1, p50_ms: null, p95_ms: null },
    ] })
    expect(rows.map((r) => r.template)).toEqual(['http_request', 'transform', 'x'])
  })

  it('totals runs and the error rate of ended ones', () => {
    expect(totals({ runs: [{ status: 'success', count: 6, duration_p50_ms: 1, duration_p95_ms: 2 },
      { status: 'failed', count: 2, duration_p50_ms: 1, duration_p95_ms: 2 },
      { status: 'running', count: 4, duration_p50_ms: null, duration_p95_ms: null }] })).toEqual({ runs: 12, failed: 2, errorRate: 0.25 })
    expect(totals({ runs: [] }).errorRate).toBeNull()
    expect(sinceOf('1h', T)).toBe(iso(-60))
  })
})

it('names buckets', () => {
  expect([60, 300, 900, 3600, 21600, 86400, 604800, 90].map(bucketName))
    .toEqual(['minute', '5 minutes', '15 minutes', 'hour', '6 hours', 'day', '7 days', '90 s'])
})
