// The workflow graph (the API's document: nodes, edges, `ui` editor metadata) and
// its Vue Flow form, both ways, plus where a 422's JSON pointer lands on the canvas.
// Plain TypeScript: no Vue, no Vue Flow import, so it is tested on its own.

export const DEFAULT_PORT = 'out'

export interface GraphNode {
  id: string
  name: string
  type: string
  config?: Record<string, unknown>
  connection_id?: string | null
  template?: string | null
  ui?: { position?: { x: number; y: number }; [k: string]: unknown }
}
export interface GraphEdge { from: string; to: string; port?: string; ui?: Record<string, unknown> }
export interface GraphDoc { nodes: GraphNode[]; edges: GraphEdge[]; ui?: Record<string, unknown> }

/** What a canvas node carries (Vue Flow's `data`). */
export interface NodeData {
  name: string
  type: string
  config: Record<string, unknown>
  connection_id: string | null
  template: string | null
  /** Output ports, in order (handles on the node's right side). */
  ports: string[]
  /** Other keys of the node's `ui`, kept as they were. */
  ui: Record<string, unknown>
  /** The server's message for this node, after a refused save. */
  issue?: string
  /** How the node went in the last test run (not part of the graph). */
  run?: { status: string; attempts: number }
}
export interface FlowNode { id: string; type: 'step'; position: { x: number; y: number }; data: NodeData; ariaLabel?: string }

/** A node's accessible name on the canvas: its name, its kind, and what is wrong or how its last run went. */
export function nodeLabel(data: Pick<NodeData, 'name' | 'type' | 'issue'> & { status?: string | null }): string {
  const parts = [`${data.name}, ${data.type} step`]
  if (data.issue) parts.push(`error: ${data.issue}`)
  if (data.status) parts.push(`last run: ${data.status}`)
  return parts.join('; ')
}
export interface FlowEdge {
  id: string; source: string; target: string; sourceHandle: string; targetHandle?: string
  label?: string; data: { issue?: string; ui: Record<string, unknown> }
}

/** Step types whose nodes have no input handle / no output. */
export const NO_INPUT = new Set(['start'])
export const NO_OUTPUT = new Set(['end'])
/** Node types that may have several predecessors. */
export const JOIN_TYPES = new Set(['wait_all', 'merge_race'])

/** Output ports of a node; a switch's come from its cases (then `default`), like the engine. */
export function portsOf(type: string, config: Record<string, unknown> | undefined, staticPorts?: string[]): string[] {
  if (type === 'switch') {
    const found: string[] = []
    const cases = Array.isArray(config?.cases) ? config.cases : []
    for (const c of cases) {
      const port = c && typeof c === 'object' ? (c as { port?: unknown }).port : undefined
      if (typeof port === 'string' && port !== 'default' && !found.includes(port)) found.push(port)
    }
    return [...found, 'default']
  }
  if (NO_OUTPUT.has(type)) return []
  return staticPorts && staticPorts.length ? [...staticPorts] : [DEFAULT_PORT]
}

export const edgeId = (from: string, port: string, to: string) => `${from}:${port}->${to}`

/** Graph document → Vue Flow nodes and edges. `ports(type)` gives a template's static ports. */
export function toFlow(graph: GraphDoc | null | undefined, ports: (type: string) => string[] | undefined = () => undefined):
{ nodes: FlowNode[]; edges: FlowEdge[]; positioned: boolean } {
  const doc = graph ?? { nodes: [], edges: [] }
  let positioned = true
  const nodes = (doc.nodes ?? []).map((n): FlowNode => {
    const { position, ...ui } = n.ui ?? {}
    if (!position) positioned = false
    const config = n.config ?? {}
    return {
      id: n.id,
      type: 'step',
      ariaLabel: nodeLabel({ name: n.name, type: n.type }),
      position: position ? { x: position.x, y: position.y } : { x: 0, y: 0 },
      data: {
        name: n.name, type: n.type, config, connection_id: n.connection_id ?? null, template: n.template ?? null,
        ports: portsOf(n.type, config, ports(n.type)), ui,
      },
    }
  })
  const edges = (doc.edges ?? []).map((e): FlowEdge => {
    const port = e.port ?? DEFAULT_PORT
    return {
      id: edgeId(e.from, port, e.to), source: e.from, target: e.to, sourceHandle: port, targetHandle: 'in',
      label: port === DEFAULT_PORT ? undefined : port, data: { ui: e.ui ?? {} },
    }
  })
  return { nodes, edges, positioned: positioned || nodes.length === 0 }
}

/** Vue Flow nodes and edges → graph document (positions rounded into each node's `ui`). */
export function fromFlow(nodes: FlowNode[], edges: FlowEdge[], graphUi?: Record<string, unknown>): GraphDoc {
  const doc: GraphDoc = {
    nodes: nodes.map((n) => {
      const out: GraphNode = {
        id: n.id, name: n.data.name, type: n.data.type, config: n.data.config,
        ui: { ...n.data.ui, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } },
      }
      if (n.data.connection_id) out.connection_id = n.data.connection_id
      if (n.data.template) out.template = n.data.template
      return out
    }),
    edges: edges.map((e) => {
      const out: GraphEdge = { from: e.source, to: e.target, port: e.sourceHandle || DEFAULT_PORT }
      if (e.data?.ui && Object.keys(e.data.ui).length) out.ui = e.data.ui
      return out
    }),
  }
  if (graphUi && Object.keys(graphUi).length) doc.ui = graphUi
  return doc
}

export interface PlacedIssue { nodeId?: string; edgeId?: string; message: string; path: string }

/**
 * Where each issue of a refused save belongs: `/nodes/3/config/x` → the 4th node,
 * `/edges/1/port` → the 2nd edge, anything else → the graph as a whole. `prefix`
 * is the pointer of the graph in the request body ('' for PUT …/graph).
 */
export function placeIssues(details: Array<{ path?: string; issue?: string }>, doc: GraphDoc, prefix = ''): PlacedIssue[] {
  return details.map((d) => {
    const path = d.path ?? ''
    const message = d.issue ?? 'invalid'
    const rest = prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path
    const m = /^\/(nodes|edges)\/(\d+)(\/.*)?$/.exec(rest)
    if (m) {
      const i = Number(m[2])
      if (m[1] === 'nodes' && doc.nodes[i]) return { nodeId: doc.nodes[i].id, message, path }
      const e = doc.edges[i]
      if (m[1] === 'edges' && e) return { edgeId: edgeId(e.from, e.port ?? DEFAULT_PORT, e.to), message, path }
    }
    return { message, path }
  })
}

/** A fresh node id and a safe, unique name (the engine wants `^[a-z][a-z0-9_]*$`-like names). */
export function newNodeIdentity(type: string, taken: { ids: Set<string>; names: Set<string> }): { id: string; name: string } {
  const base = type.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '') || 'step'
  let n = 1
  while (taken.names.has(`${base}_${n}`) || taken.ids.has(`${base}_${n}`)) n++
  return { id: `${base}_${n}`, name: `${base}_${n}` }
}
