import { describe, expect, it } from 'vitest'
import { layout, runFlow } from './runGraph.utils'
import type { NodeSummary } from './runState.utils'

const doc = {
  nodes: [
    { id: 'start', name: 'start', type: 'start' }, { id: 'check', name: 'is_large', type: 'condition' },
    { id: 'big', name: 'big', type: 'transform' }, { id: 'small', name: 'small', type: 'transform' },
  ],
  edges: [{ from: 'start', to: 'check' }, { from: 'check', to: 'big', port: 'true' }, { from: 'check', to: 'small', port: 'false' }],
}
const sum = (nodeId: string, state: NodeSummary['state']): NodeSummary => ({ nodeId, state, counts: {}, instances: 1, attempts: 1, retries: 0, durationMs: 1 })

describe('run graph', () => {
  it('lays a graph without positions out left to right', () => {
    const p = layout(doc)
    expect(p.get('start')!.x).toBeLessThan(p.get('check')!.x)
    expect(p.get('check')!.x).toBeLessThan(p.get('big')!.x)
    expect(p.get('big')!.y).not.toBe(p.get('small')!.y)
  })

  it('keeps saved positions', () => {
    const placed = { nodes: doc.nodes.map((n, i) => ({ ...n, ui: { position: { x: i * 10, y: 5 } } })), edges: doc.edges }
    expect(layout(placed).get('small')).toEqual({ x: 30, y: 5 })
  })

  it('carries each node state and marks branches not taken', () => {
    const summaries = new Map([['start', sum('start', 'success')], ['check', sum('check', 'success')], ['big', sum('big', 'running')], ['small', sum('small', 'skipped')]])
    const { nodes, edges } = runFlow(doc, layout(doc), summaries)
    expect(nodes.map((n) => [n.id, n.data.state])).toEqual([['start', 'success'], ['check', 'success'], ['big', 'running'], ['small', 'skipped']])
    expect(edges.map((e) => [e.id, e.label, e.class, e.animated])).toEqual([
      ['start:out->check', undefined, 'run-edge--taken', false],
      ['check:true->big', 'true', 'run-edge--taken', true],
      ['check:false->small', 'false', 'run-edge--skipped', false],
    ])
    expect(runFlow(doc, layout(doc), new Map()).nodes.every((n) => n.data.state === 'idle')).toBe(true)
  })
})
