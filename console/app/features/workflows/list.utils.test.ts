import { describe, expect, it } from 'vitest'
import { duplicateBody, updatedWithin } from './list.utils'

describe('workflows list', () => {
  it('filters by update time', () => {
    const now = Date.parse('2026-11-27T12:00:00Z')
    const items = [
      { id: 'a', updated_at: '2026-11-27T10:00:00Z' },
      { id: 'b', updated_at: '2026-11-22T10:00:00Z' },
      { id: 'c', updated_at: '2026-09-01T10:00:00Z' },
    ]
    expect(updatedWithin(items, null, now).map((i) => i.id)).toEqual(['a', 'b', 'c'])
    expect(updatedWithin(items, 1, now).map((i) => i.id)).toEqual(['a'])
    expect(updatedWithin(items, 7, now).map((i) => i.id)).toEqual(['a', 'b'])
  })

  it('duplicates as a disabled draft with the same graph and settings', () => {
    const graph = { nodes: [{ id: 's' }], edges: [] }
    const body = duplicateBody({
      title: 'Orders', description: 'd', graph, start_payload: { payload: null }, input_schema: null,
      env: { A: 1 }, secrets: {}, run_timeout_seconds: 60,
    })
    expect(body).toEqual({
      title: 'Orders (copy)', description: 'd', status: 'draft', enabled: false, graph,
      start_payload: { payload: null }, input_schema: null, env: { A: 1 }, secrets: {}, run_timeout_seconds: 60,
    })
    expect(duplicateBody({ title: 'x'.repeat(200), description: '', start_payload: [1] }).title).toHaveLength(200)
    expect(duplicateBody({ title: 'x', description: '', start_payload: [1] }).start_payload).toBeNull()
  })
})
