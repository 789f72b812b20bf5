// The operations dashboard's series, from `GET /api/metrics`: runs per bucket by status (empty
// buckets filled with zeros), the error rate per bucket, step latency by template. Pure.
import type { Schemas } from '~/api/types'

export type Metrics = Schemas['Metrics']
export const RUN_STATUSES = ['success', 'failed', 'canceled', 'running'] as const
export const RANGES = [
  { title: 'Last hour', value: '1h', ms: 3_600_000 },
  { title: 'Last 6 hours', value: '6h', ms: 6 * 3_600_000 },
  { title: 'Last 24 hours', value: '24h', ms: 86_400_000 },
  { title: 'Last 7 days', value: '7d', ms: 7 * 86_400_000 },
] as const
export type RangeValue = (typeof RANGES)[number]['value']

export function sinceOf(range: RangeValue, now = Date.now()): string {
  const r = RANGES.find((x) => x.value === range) ?? RANGES[2]
  return new Date(now - r.ms).toISOString()
}

export interface RunSeries {
  /** Bucket starts (ms), oldest first, every bucket from `since` to `now`. */
  buckets: number[]
  byStatus: Record<(typeof RUN_STATUSES)[number], number[]>
  /** failed / (success + failed + canceled) per bucket; null where nothing ended. */
  errorRate: Array<number | null>
}

export function runSeries(m: Pick<Metrics, 'bucket_seconds' | 'runs_over_time' | 'since'>, now = Date.now()): RunSeries {
  const size = m.bucket_seconds * 1000
  const first = Math.floor(Date.parse(m.since) / size) * size
  const last = Math.floor(now / size) * size
  const buckets: number[] = []
  for (let t = first; t <= last && buckets.length <= 2000; t += size) buckets.push(t)
  const index = new Map(buckets.map((t, i) => [t, i]))
  const byStatus = Object.fromEntries(RUN_STATUSES.map((s) => [s, buckets.map(() => 0)])) as RunSeries['byStatus']
  for (const b of m.runs_over_time) {
    const i = index.get(Date.parse(b.at))
    if (i !== undefined) byStatus[b.status][i]! += b.count
  }
  const errorRate = buckets.map((_, i) => {
    const ended = byStatus.success[i]! + byStatus.failed[i]! + byStatus.canceled[i]!
    return ended ? Math.round((byStatus.failed[i]! / ended) * 1000) / 1000 : null
  })
  return { buckets, byStatus, errorRate }
}

export interface LatencyRow { template: string; p50: number | null; p95: number | null; attempts: number; errorRate: number }

/** Step templates by p95 latency, slowest first (at most `limit`). */
export function latencyRows(m: Pick<Metrics, 'steps'>, limit = 12): LatencyRow[] {
  return m.steps
    .map((s) => ({ template: s.template ?? s.step_type, p50: s.p50_ms, p95: s.p95_ms, attempts: s.attempts, errorRate: s.error_rate }))
    .sort((a, b) => (b.p95 ?? -1) - (a.p95 ?? -1))
    .slice(0, limit)
}

export function totals(m: Pick<Metrics, 'runs'>): { runs: number; failed: number; errorRate: number | null } {
  const runs = m.runs.reduce((n, r) => n + r.count, 0)
  const failed = m.runs.find((r) => r.status === 'failed')?.count ?? 0
  const ended = m.runs.filter((r) => r.status !== 'running').reduce((n, r) => n + r.count, 0)
  return { runs, failed, errorRate: ended ? failed / ended : null }
}

/** "minute", "5 minutes", "hour", "6 hours", "day", "7 days". */
export function bucketName(seconds: number): string {
  const units: Array<[number, string]> = [[86400, 'day'], [3600, 'hour'], [60, 'minute']]
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const n = seconds / size
      return n === 1 ? name : `${n} ${name}s`
    }
  }
  return `${seconds} s`
}
