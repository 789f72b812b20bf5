// Keyboard use of the canvas: which command a key press means, and which node lies next
// in a direction (arrow keys move the selection between nodes, as n8n's canvas does).

export type Direction = 'left' | 'right' | 'up' | 'down'
export type Command =
  | { kind: 'undo' } | { kind: 'redo' } | { kind: 'save' } | { kind: 'delete' } | { kind: 'open' } | { kind: 'close' }
  | { kind: 'select-all' } | { kind: 'fit' } | { kind: 'help' }
  | { kind: 'go'; direction: Direction } | { kind: 'move'; direction: Direction }

export interface KeyLike { key: string; ctrlKey?: boolean; metaKey?: boolean; shiftKey?: boolean; altKey?: boolean }

const ARROWS: Record<string, Direction> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' }

/** The command of a key press on the canvas, or null. `inField`: the focus is in a text field (its keys are its own but Ctrl+S and Escape). */
export function commandOf(e: KeyLike, inField = false): Command | null {
  const mod = Boolean(e.ctrlKey || e.metaKey)
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key
  if (mod && key === 's') return { kind: 'save' }
  if (key === 'Escape' && !mod) return { kind: 'close' }
  if (inField) return null
  if (mod && key === 'z') return { kind: e.shiftKey ? 'redo' : 'undo' }
  if (mod && key === 'y') return { kind: 'redo' }
  if (mod && key === 'a') return { kind: 'select-all' }
  if (mod || e.altKey) return null
  const dir = ARROWS[e.key]
  if (dir) return e.shiftKey ? { kind: 'move', direction: dir } : { kind: 'go', direction: dir }
  if (key === 'Delete' || key === 'Backspace') return { kind: 'delete' }
  if (key === 'Enter') return { kind: 'open' }
  if (key === 'Escape') return { kind: 'close' }
  if (key === 'f' || key === '1' && e.shiftKey) return { kind: 'fit' }
  if (key === '?') return { kind: 'help' }
  return null
}

export interface Placed { id: string; position: { x: number; y: number } }

/**
 * The node nearest to `fromId` in `direction`: among the nodes on that side (within a 60°
 * cone either way of the axis... widened to the half plane when the cone is empty), the
 * closest, with distance across the axis counting double. Without a `fromId`, the
 * top-left node.
 */
export function nearestInDirection(nodes: Placed[], fromId: string | null, direction: Direction): string | null {
  const from = nodes.find((n) => n.id === fromId)
  if (!from) {
    const first = [...nodes].sort((a, b) => a.position.x - b.position.x || a.position.y - b.position.y)[0]
    return first?.id ?? null
  }
  const scored = nodes.filter((n) => n.id !== from.id).map((n) => {
    const dx = n.position.x - from.position.x
    const dy = n.position.y - from.position.y
    const along = direction === 'left' ? -dx : direction === 'right' ? dx : direction === 'up' ? -dy : dy
    const across = Math.abs(direction === 'left' || direction === 'right' ? dy : dx)
    return { id: n.id, along, across }
  }).filter((s) => s.along > 0)
  const inCone = scored.filter((s) => s.across <= s.along * Math.sqrt(3))
  const pool = inCone.length ? inCone : scored
  pool.sort((a, b) => (a.along + 2 * a.across) - (b.along + 2 * b.across))
  return pool[0]?.id ?? null
}

export const MOVE_STEP = 20

/** A position moved one step in `direction`. */
export function moved(p: { x: number; y: number }, direction: Direction, step = MOVE_STEP): { x: number; y: number } {
  if (direction === 'left') return { x: p.x - step, y: p.y }
  if (direction === 'right') return { x: p.x + step, y: p.y }
  if (direction === 'up') return { x: p.x, y: p.y - step }
  return { x: p.x, y: p.y + step }
}

/** The shortcuts, as the help dialog lists them. */
export const SHORTCUTS: Array<{ keys: string; does: string }> = [
  { keys: 'Tab / Shift+Tab', does: 'focus the next / previous node' },
  { keys: '← → ↑ ↓', does: 'select the nearest node in that direction' },
  { keys: 'Shift + arrows', does: 'move the selected node' },
  { keys: 'Enter', does: 'open the selected node’s settings' },
  { keys: 'Escape', does: 'close the settings, back to the canvas' },
  { keys: 'Delete / Backspace', does: 'delete the selected node and its edges' },
  { keys: 'Ctrl+Z', does: 'undo' },
  { keys: 'Ctrl+Shift+Z / Ctrl+Y', does: 'redo' },
  { keys: 'Ctrl+S', does: 'save' },
  { keys: 'Ctrl+A', does: 'select every node' },
  { keys: 'F', does: 'fit the graph in view' },
  { keys: '?', does: 'this list' },
]
