import { describe, expect, it } from 'vitest'
import { apiQuery, filtersFromQuery, filtersToQuery } from './list.utils'

const FLOW = '0b0e8f4e-8d2a-4c1e-9a57-3c7b7d2d1f00'

describe('run list filters', () => {
  it('reads the page query, dropping unknown values', () => {
    expect(filtersFromQuery({ workflow: FLOW, status: 'failed', mode: 'weird', trigger: ['cron', 'api'], range: '7d' }))
      .toEqual({ workflow: FLOW, status: 'failed', mode: null, trigger: 'cron', range: '7d' })
    expect(filtersFromQuery({ workflow: 'not-an-id' }).workflow).toBeNull()
  })

  it('round-trips through the page query and maps to the API query', () => {
    const f = filtersFromQuery({ workflow: FLOW, status: 'running', mode: 'test', trigger: 'webhook', range: '1h' })
    expect(filtersFromQuery(filtersToQuery(f))).toEqual(f)
    const now = Date.parse('2026-11-27T12:00:00Z')
    expect(apiQuery(f, now)).toEqual({ flow_id: FLOW, status: 'running', mode: 'test', trigger: 'webhook', created_after: '2026-11-27T11:00:00.000Z' })
    expect(apiQuery(filtersFromQuery({}), now)).toEqual({})
    expect(filtersToQuery(filtersFromQuery({}))).toEqual({})
  })
})
