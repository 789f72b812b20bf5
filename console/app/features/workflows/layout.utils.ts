// Auto-layout (dagre, left to right) for graphs saved without positions, e.g. imported by the API.
import dagre from '@dagrejs/dagre'

export const NODE_WIDTH = 200
export const NODE_HEIGHT = 72

export function layoutPositions(nodes: Array<{ id: string }>, edges: Array<{ source: string; target: string }>):
Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT })
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target)
  dagre.layout(g)
  const out = new Map<string, { x: number; y: number }>()
  for (const n of nodes) {
    const p = g.node(n.id)
    // dagre gives centres; Vue Flow positions are top-left corners
    out.set(n.id, { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) })
  }
  return out
}
