import { describe, expect, it } from 'vitest'
import { graphDiff, shown, valueChanges } from './diff.utils'
import type { GraphDoc } from './graph.utils'

const v1: GraphDoc = {
  nodes: [
    { id: 's', name: 'start', type: 'start', ui: { position: { x: 0, y: 0 } } },
    { id: 'c', name: 'check', type: 'condition', config: { $jsonata: 'amount > 100' } },
    { id: 'h', name: 'notify', type: 'http_request', config: { url: 'https://a.test', method: 'POST', headers: { A: '1' } } },
    { id: 'e', name: 'done', type: 'end' },
  ],
  edges: [{ from: 's', to: 'c' }, { from: 'c', to: 'h', port: 'true' }, { from: 'h', to: 'e' }],
}
const v2: GraphDoc = {
  nodes: [
    { id: 's', name: 'start', type: 'start', ui: { position: { x: 50, y: 50 } } },
    { id: 'c', name: 'check_amount', type: 'condition', config: { $jsonata: 'amount > 500' } },
    { id: 'h', name: 'notify', type: 'http_request', config: { url: 'https://a.test', method: 'PUT', headers: { B: '2' } },
      connection_id: 'conn-1' },
    { id: 'e', name: 'done', type: 'end' },
    { id: 'x', name: 'other', type: 'end' },
  ],
  edges: [{ from: 's', to: 'c', port: 'out' }, { from: 'c', to: 'h', port: 'true' }, { from: 'h', to: 'e' }, { from: 'c', to: 'x', port: 'false' }],
}

describe('version diff', () => {
  it('lists nodes and edges added, removed and changed, config by path; moves are not changes', () => {
    const d = graphDiff(v1, v2)
    expect(d.added.map((n) => n.name)).toEqual(['other'])
    expect(d.removed).toEqual([])
    expect(d.changed.map((c) => [c.name, c.changes.map((x) => `${x.kind} ${x.path}`)])).toEqual([
      ['check_amount', ['changed name', 'changed config/$jsonata']],
      ['notify', ['changed connection_id', 'changed config/method', 'removed config/headers/A', 'added config/headers/B']],
    ])
    expect(d.edgesAdded.map((e) => e.label)).toEqual(['check_amount —false→ other'])
    expect(d.edgesRemoved).toEqual([])
    expect(d.same).toBe(false)
    // the other way round
    const back = graphDiff(v2, v1)
    expect(back.removed.map((n) => n.name)).toEqual(['other'])
    expect(back.edgesRemoved.map((e) => e.label)).toEqual(['check_amount —false→ other'])
  })
  it('finds nothing between a graph and itself, and everything added from nothing', () => {
    expect(graphDiff(v1, structuredClone(v1)).same).toBe(true)
    const fromNothing = graphDiff(null, v1)
    expect(fromNothing.added).toHaveLength(4)
    expect(fromNothing.edgesAdded).toHaveLength(3)
  })
  it('compares values leaf by leaf, arrays whole', () => {
    expect(valueChanges({ a: [1, 2] }, { a: [1, 3] })).toEqual([{ path: '/a', before: [1, 2], after: [1, 3], kind: 'changed' }])
    expect(valueChanges(1, 1)).toEqual([])
    expect(shown(undefined)).toBe('—')
    expect(shown({ a: 1 })).toBe('{"a":1}')
  })
})
