// The run's own graph (the version it executed) as Vue Flow nodes and edges for the run
// page: saved positions, or a dagre layout when the graph has none; each node carries
// its live summary; edges into skipped nodes are drawn as branches not taken.
import dagre from '@dagrejs/dagre'
import type { NodeState, NodeSummary } from './runState.utils'

export const RUN_NODE_WIDTH = 210
export const RUN_NODE_HEIGHT = 84

interface DocNode { id: string; name?: string; type: string; template?: string | null; ui?: { position?: { x: number; y: number } } }
interface DocEdge { from: string; to: string; port?: string }
export interface RunGraphDoc { nodes?: DocNode[]; edges?: DocEdge[] }

export interface RunNodeData { name: string; type: string; template: string | null; summary: NodeSummary | null; state: NodeState }
export interface RunFlowNode { id: string; type: 'run'; position: { x: number; y: number }; data: RunNodeData }
export interface RunFlowEdge { id: string; source: string; target: string; label?: string; class?: string; animated?: boolean }

export function layout(doc: RunGraphDoc): Map<string, { x: number; y: number }> {
  const nodes = doc.nodes ?? []
  const out = new Map<string, { x: number; y: number }>()
  if (nodes.length && nodes.every((n) => n.ui?.position)) {
    for (const n of nodes) out.set(n.id, { x: n.ui!.position!.x, y: n.ui!.position!.y })
    return out
  }
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 70 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const n of nodes) g.setNode(n.id, { width: RUN_NODE_WIDTH, height: RUN_NODE_HEIGHT })
  for (const e of doc.edges ?? []) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to)
  dagre.layout(g)
  for (const n of nodes) {
    const p = g.node(n.id)
    out.set(n.id, { x: Math.round(p.x - RUN_NODE_WIDTH / 2), y: Math.round(p.y - RUN_NODE_HEIGHT / 2) })
  }
  return out
}

export function runFlow(doc: RunGraphDoc, positions: Map<string, { x: number; y: number }>, summaries: Map<string, NodeSummary>):
{ nodes: RunFlowNode[]; edges: RunFlowEdge[] } {
  const nodes = (doc.nodes ?? []).map((n): RunFlowNode => {
    const summary = summaries.get(n.id) ?? null
    return {
      id: n.id, type: 'run', position: positions.get(n.id) ?? { x: 0, y: 0 },
      data: { name: n.name ?? n.id, type: n.type, template: n.template ?? null, summary, state: summary?.state ?? 'idle' },
    }
  })
  const state = (id: string) => summaries.get(id)?.state ?? 'idle'
  const edges = (doc.edges ?? []).map((e): RunFlowEdge => {
    const port = e.port && e.port !== 'out' ? e.port : undefined
    const target = state(e.to)
    return {
      id: `${e.from}:${e.port ?? 'out'}->${e.to}`, source: e.from, target: e.to, label: port,
      class: target === 'skipped' ? 'run-edge--skipped' : target === 'idle' ? 'run-edge--idle' : 'run-edge--taken',
      animated: target === 'running' || target === 'queued',
    }
  })
  return { nodes, edges }
}
