// Undo/redo for the canvas: every change of the graph document (nodes, edges, config,
// positions) is recorded; a burst of changes (a drag, typing) settles into one step.
import { computed, onBeforeUnmount, ref, watch, type Ref } from 'vue'
import { createHistory } from './history.utils'

export const SETTLE_MS = 300

/**
 * `current` is the graph document as JSON text; `apply(text)` puts a recorded state back on
 * the canvas. `reset(text)` starts the history over (after a load).
 */
export function useGraphHistory(current: Ref<string>, apply: (state: string) => Promise<void>) {
  const history = createHistory(current.value)
  const version = ref(0) // bumps on every change of the history, for canUndo/canRedo
  let timer: ReturnType<typeof setTimeout> | null = null
  let restoring = false

  function flush(): void {
    if (timer) { clearTimeout(timer); timer = null }
    if (!restoring && history.record(current.value)) version.value++
  }
  watch(current, () => {
    if (restoring) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(flush, SETTLE_MS)
  })
  onBeforeUnmount(() => { if (timer) clearTimeout(timer) })

  async function restore(state: string | null): Promise<boolean> {
    if (state === null) return false
    restoring = true
    try {
      await apply(state)
    } finally {
      restoring = false
      if (timer) { clearTimeout(timer); timer = null }
      version.value++
    }
    return true
  }

  return {
    canUndo: computed(() => (version.value, history.canUndo || current.value !== history.present)),
    canRedo: computed(() => (version.value, history.canRedo && current.value === history.present)),
    undo: async () => { flush(); return restore(history.undo()) },
    redo: async () => { flush(); return restore(history.redo()) },
    reset: (state: string) => { if (timer) { clearTimeout(timer); timer = null } history.reset(state); version.value++ },
  }
}
