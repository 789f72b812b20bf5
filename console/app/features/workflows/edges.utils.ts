// The graph rules an edge must follow, as the engine checks them on save
// (chalicelib/engine/graph_checks.py), so the canvas only lets allowed edges be drawn.
import { DEFAULT_PORT, JOIN_TYPES, NO_INPUT } from './graph.utils'

export interface RuleNode { id: string; type: string; ports: string[] }
export interface RuleEdge { source: string; target: string; sourceHandle?: string | null }
export interface Candidate { source: string; target: string; sourceHandle?: string | null }

/** Why this edge may not be drawn, or null when it may. */
export function edgeRefusal(c: Candidate, nodes: RuleNode[], edges: RuleEdge[]): string | null {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const source = byId.get(c.source)
  const target = byId.get(c.target)
  if (!source || !target) return 'no such node'
  const port = c.sourceHandle || DEFAULT_PORT
  if (c.source === c.target) return 'an edge cannot connect a node to itself'
  if (!source.ports.includes(port)) return `this node has no port “${port}”`
  if (NO_INPUT.has(target.type)) return 'the start node takes no incoming edges'
  if (edges.some((e) => e.source === c.source && e.target === c.target && (e.sourceHandle || DEFAULT_PORT) === port)) {
    return 'this edge exists already'
  }
  if (!JOIN_TYPES.has(target.type) && edges.some((e) => e.target === c.target && e.source !== c.source)) {
    return 'this node already has an incoming edge; only wait_all and merge_race join several'
  }
  if (reaches(c.target, c.source, edges)) return 'this edge would close a cycle'
  return null
}

/** Whether `to` is reachable from `from` along the edges. */
function reaches(from: string, to: string, edges: RuleEdge[]): boolean {
  const next = new Map<string, string[]>()
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target])
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length) {
    const id = stack.pop() as string
    if (id === to) return true
    if (seen.has(id)) continue
    seen.add(id)
    stack.push(...(next.get(id) ?? []))
  }
  return false
}
