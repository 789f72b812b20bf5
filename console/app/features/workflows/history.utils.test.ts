import { describe, expect, it } from 'vitest'
import { createHistory } from './history.utils'

describe('undo/redo history', () => {
  it('undoes and redoes edits in order', () => {
    const h = createHistory('a')
    expect(h.canUndo).toBe(false)
    h.record('b')
    h.record('c')
    expect(h.undo()).toBe('b')
    expect(h.undo()).toBe('a')
    expect(h.undo()).toBeNull()
    expect(h.present).toBe('a')
    expect(h.redo()).toBe('b')
    expect(h.redo()).toBe('c')
    expect(h.redo()).toBeNull()
  })
  it('drops the redo list after a new edit, and ignores a state equal to the present', () => {
    const h = createHistory('a')
    h.record('b')
    h.undo()
    expect(h.canRedo).toBe(true)
    expect(h.record('a')).toBe(false)
    expect(h.canRedo).toBe(true)
    h.record('x')
    expect(h.canRedo).toBe(false)
    expect(h.undo()).toBe('a')
  })
  it('keeps at most `limit` steps back', () => {
    const h = createHistory('0', 3)
    for (const s of ['1', '2', '3', '4', '5']) h.record(s)
    expect([h.undo(), h.undo(), h.undo(), h.undo()]).toEqual(['4', '3', '2', null])
  })
  it('starts over on reset', () => {
    const h = createHistory('a')
    h.record('b')
    h.reset('z')
    expect(h.canUndo).toBe(false)
    expect(h.present).toBe('z')
  })
})
