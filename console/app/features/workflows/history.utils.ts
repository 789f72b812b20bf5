// Undo/redo over the canvas's graph: a bounded list of snapshots (the graph document as
// JSON text, so a snapshot cannot be changed after it was taken). Edits that arrive in a
// burst (a drag, typing in a field) are recorded as one step by the caller's debounce.

export interface History {
  /** The snapshot the canvas shows now. */
  readonly present: string
  readonly canUndo: boolean
  readonly canRedo: boolean
  /** A new state after an edit: it becomes the present, and the redo list is dropped. */
  record(state: string): boolean
  /** The state before the present one (null when there is none). */
  undo(): string | null
  /** The state undone last (null when there is none). */
  redo(): string | null
  /** Start over from `state` (a load, a save that changed nothing of the graph). */
  reset(state: string): void
}

export function createHistory(initial: string, limit = 100): History {
  let past: string[] = []
  let future: string[] = []
  let present = initial
  return {
    get present() { return present },
    get canUndo() { return past.length > 0 },
    get canRedo() { return future.length > 0 },
    record(state) {
      if (state === present) return false
      past.push(present)
      if (past.length > limit) past = past.slice(past.length - limit)
      present = state
      future = []
      return true
    },
    undo() {
      const prev = past.pop()
      if (prev === undefined) return null
      future.push(present)
      present = prev
      return present
    },
    redo() {
      const next = future.pop()
      if (next === undefined) return null
      past.push(present)
      present = next
      return present
    },
    reset(state) {
      past = []
      future = []
      present = state
    },
  }
}
