import { describe, expect, it } from 'vitest'
import { edgeRefusal } from './edges.utils'
import { fromFlow, newNodeIdentity, nodeLabel, placeIssues, portsOf, toFlow, type GraphDoc } from './graph.utils'
import { layoutPositions } from './layout.utils'

const graph: GraphDoc = {
  nodes: [
    { id: 's', name: 'start', type: 'start', config: {}, ui: { position: { x: 0, y: 10 }, color: 'red' } },
    { id: 'c', name: 'check', type: 'condition', config: { rule: true }, ui: { position: { x: 200, y: 10 } } },
    { id: 'a', name: 'call', type: 'action', template: 'act:1', connection_id: 'conn-1', ui: { position: { x: 400, y: 0 } } },
    { id: 'e', name: 'done', type: 'end', ui: { position: { x: 600, y: 0 } } },
  ],
  edges: [
    { from: 's', to: 'c', port: 'out' },
    { from: 'c', to: 'a', port: 'true' },
    { from: 'a', to: 'e' },
  ],
}
const ports = (t: string) => (t === 'condition' ? ['true', 'false'] : undefined)

describe('graph ↔ Vue Flow', () => {
  it('maps nodes, ports, handles and positions', () => {
    const { nodes, edges, positioned } = toFlow(graph, ports)
    expect(positioned).toBe(true)
    expect(nodes.map((n) => [n.id, n.position.x, n.data.ports])).toEqual([
      ['s', 0, ['out']], ['c', 200, ['true', 'false']], ['a', 400, ['out']], ['e', 600, []],
    ])
    expect(nodes[0]!.data.ui).toEqual({ color: 'red' })
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target, e.label])).toEqual([
      ['s', 'out', 'c', undefined], ['c', 'true', 'a', 'true'], ['a', 'out', 'e', undefined],
    ])
  })

  it('round-trips the document (default port made explicit, other ui kept)', () => {
    const { nodes, edges } = toFlow(graph, ports)
    const back = fromFlow(nodes, edges)
    expect(back.nodes).toEqual(graph.nodes.map((n) => ({ config: {}, ...n })))
    expect(back.edges).toEqual(graph.edges.map((e) => ({ port: 'out', ...e })))
  })

  it('says when a node has no position (auto-layout needed)', () => {
    const doc: GraphDoc = { nodes: [{ id: 'x', name: 'x', type: 'start' }], edges: [] }
    expect(toFlow(doc).positioned).toBe(false)
    expect(toFlow(null)).toEqual({ nodes: [], edges: [], positioned: true })
  })

  it('derives switch ports from its cases, then default', () => {
    expect(portsOf('switch', { cases: [{ port: 'big' }, { port: 'eu' }, { port: 'big' }, { port: 'default' }] }))
      .toEqual(['big', 'eu', 'default'])
    expect(portsOf('switch', {})).toEqual(['default'])
    expect(portsOf('for_each', {}, ['item', 'out'])).toEqual(['item', 'out'])
    expect(portsOf('end', {})).toEqual([])
  })

  it('places a 422 on its node or edge', () => {
    const placed = placeIssues([
      { path: '/nodes/1/config/rule', issue: 'bad rule' },
      { path: '/edges/2/port', issue: 'no port' },
      { path: '/nodes', issue: 'needs an end' },
      { path: '/nodes/99', issue: 'gone' },
    ], graph)
    expect(placed).toEqual([
      { nodeId: 'c', message: 'bad rule', path: '/nodes/1/config/rule' },
      { edgeId: 'a:out->e', message: 'no port', path: '/edges/2/port' },
      { message: 'needs an end', path: '/nodes' },
      { message: 'gone', path: '/nodes/99' },
    ])
    expect(placeIssues([{ path: '/graph/nodes/0', issue: 'x' }], graph, '/graph')[0]!.nodeId).toBe('s')
  })

  it('names new nodes uniquely and safely', () => {
    const taken = { ids: new Set(['http_request_1']), names: new Set(['wait_all_1']) }
    expect(newNodeIdentity('http_request', taken)).toEqual({ id: 'http_request_2', name: 'http_request_2' })
    expect(newNodeIdentity('wait_all', taken).name).toBe('wait_all_2')
    expect(newNodeIdentity('9-Odd.Type', taken).name).toBe('odd_type_1')
  })
})

describe('edge rules', () => {
  const nodes = [
    { id: 's', type: 'start', ports: ['out'] },
    { id: 'c', type: 'condition', ports: ['true', 'false'] },
    { id: 'x', type: 'transform', ports: ['out'] },
    { id: 'y', type: 'transform', ports: ['out'] },
    { id: 'j', type: 'wait_all', ports: ['out'] },
  ]
  const edges = [
    { source: 's', target: 'c', sourceHandle: 'out' },
    { source: 'c', target: 'x', sourceHandle: 'true' },
  ]
  const refuse = (source: string, target: string, sourceHandle = 'out') => edgeRefusal({ source, target, sourceHandle }, nodes, edges)

  it('allows a branch port to a free node', () => {
    expect(refuse('c', 'y', 'false')).toBeNull()
    expect(refuse('x', 'j')).toBeNull()
  })
  it('refuses self edges, unknown ports and edges into start', () => {
    expect(refuse('x', 'x')).toMatch(/itself/)
    expect(refuse('c', 'y', 'out')).toMatch(/no port/)
    expect(refuse('x', 's')).toMatch(/start/)
  })
  it('refuses duplicates and a second predecessor except for joins', () => {
    expect(refuse('c', 'x', 'true')).toMatch(/exists/)
    expect(refuse('y', 'x')).toMatch(/incoming/)
    expect(edgeRefusal({ source: 'y', target: 'j', sourceHandle: 'out' }, nodes,
      [...edges, { source: 'x', target: 'j', sourceHandle: 'out' }])).toBeNull()
  })
  it('refuses a cycle', () => {
    expect(edgeRefusal({ source: 'x', target: 'y', sourceHandle: 'out' }, nodes,
      [{ source: 'y', target: 'x', sourceHandle: 'out' }])).toMatch(/cycle/)
  })
})

describe('auto-layout', () => {
  it('places nodes left to right along the edges', () => {
    const pos = layoutPositions([{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }])
    expect(pos.get('a')!.x).toBeLessThan(pos.get('b')!.x)
    expect(pos.get('b')!.x).toBeLessThan(pos.get('c')!.x)
  })

  it('names a node for assistive technology: name, kind, issue, last run', () => {
    expect(nodeLabel({ name: 'check', type: 'condition' })).toBe('check, condition step')
    expect(nodeLabel({ name: 'call', type: 'action', issue: 'needs a connection', status: 'failed' }))
      .toBe('call, action step; error: needs a connection; last run: failed')
    expect(toFlow(graph).nodes[1]!.ariaLabel).toBe('check, condition step')
  })
})
