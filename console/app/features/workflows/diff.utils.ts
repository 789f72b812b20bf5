// What changed between two graphs (two versions, or a version and the draft): nodes added,
// removed and changed (name, type, template, connection, each config value by its path),
// edges added and removed. Positions and other editor metadata (`ui`) are not changes.
import { DEFAULT_PORT, type GraphDoc, type GraphNode } from './graph.utils'

export interface ValueChange { path: string; before: unknown; after: unknown; kind: 'added' | 'removed' | 'changed' }
export interface NodeChange { id: string; name: string; before: GraphNode; after: GraphNode; changes: ValueChange[] }
export interface EdgeRef { from: string; port: string; to: string; label: string }
export interface GraphDiff {
  added: GraphNode[]
  removed: GraphNode[]
  changed: NodeChange[]
  edgesAdded: EdgeRef[]
  edgesRemoved: EdgeRef[]
  /** Nothing differs. */
  same: boolean
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v)
const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** Each leaf that differs between two JSON values, by its `/`-joined path (arrays compared whole). */
export function valueChanges(before: unknown, after: unknown, path = ''): ValueChange[] {
  if (equal(before, after)) return []
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    return keys.flatMap((k) => {
      const p = `${path}/${k}`
      if (!(k in before)) return [{ path: p, before: undefined, after: after[k], kind: 'added' as const }]
      if (!(k in after)) return [{ path: p, before: before[k], after: undefined, kind: 'removed' as const }]
      return valueChanges(before[k], after[k], p)
    })
  }
  return [{ path: path || '/', before, after, kind: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed' }]
}

function edgeRefs(doc: GraphDoc): EdgeRef[] {
  const name = new Map(doc.nodes.map((n) => [n.id, n.name]))
  return doc.edges.map((e) => {
    const port = e.port ?? DEFAULT_PORT
    return { from: e.from, port, to: e.to, label: `${name.get(e.from) ?? e.from} —${port}→ ${name.get(e.to) ?? e.to}` }
  })
}

export function graphDiff(before: GraphDoc | null | undefined, after: GraphDoc | null | undefined): GraphDiff {
  const a = before ?? { nodes: [], edges: [] }
  const b = after ?? { nodes: [], edges: [] }
  const aById = new Map(a.nodes.map((n) => [n.id, n]))
  const bById = new Map(b.nodes.map((n) => [n.id, n]))
  const added = b.nodes.filter((n) => !aById.has(n.id))
  const removed = a.nodes.filter((n) => !bById.has(n.id))
  const changed: NodeChange[] = []
  for (const n of b.nodes) {
    const old = aById.get(n.id)
    if (!old) continue
    const changes: ValueChange[] = []
    for (const key of ['name', 'type', 'template', 'connection_id'] as const) {
      const x = old[key] ?? null
      const y = n[key] ?? null
      if (x !== y) changes.push({ path: key, before: x, after: y, kind: 'changed' })
    }
    changes.push(...valueChanges(old.config ?? {}, n.config ?? {}, 'config'))
    if (changes.length) changed.push({ id: n.id, name: n.name, before: old, after: n, changes })
  }
  const key = (e: EdgeRef) => `${e.from}:${e.port}->${e.to}`
  const aEdges = edgeRefs(a)
  const bEdges = edgeRefs(b)
  const aKeys = new Set(aEdges.map(key))
  const bKeys = new Set(bEdges.map(key))
  const edgesAdded = bEdges.filter((e) => !aKeys.has(key(e)))
  const edgesRemoved = aEdges.filter((e) => !bKeys.has(key(e)))
  return {
    added, removed, changed, edgesAdded, edgesRemoved,
    same: !added.length && !removed.length && !changed.length && !edgesAdded.length && !edgesRemoved.length,
  }
}

/** A value as the diff shows it. */
export function shown(v: unknown): string {
  return v === undefined ? '—' : JSON.stringify(v)
}
