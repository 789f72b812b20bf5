import { describe, expect, it } from 'vitest'
import { commandOf, moved, nearestInDirection } from './keyboard.utils'

describe('canvas keys', () => {
  it('maps key presses to commands', () => {
    expect(commandOf({ key: 'z', ctrlKey: true })).toEqual({ kind: 'undo' })
    expect(commandOf({ key: 'Z', ctrlKey: true, shiftKey: true })).toEqual({ kind: 'redo' })
    expect(commandOf({ key: 'y', metaKey: true })).toEqual({ kind: 'redo' })
    expect(commandOf({ key: 's', ctrlKey: true })).toEqual({ kind: 'save' })
    expect(commandOf({ key: 'ArrowRight' })).toEqual({ kind: 'go', direction: 'right' })
    expect(commandOf({ key: 'ArrowUp', shiftKey: true })).toEqual({ kind: 'move', direction: 'up' })
    expect(commandOf({ key: 'Delete' })).toEqual({ kind: 'delete' })
    expect(commandOf({ key: 'Backspace' })).toEqual({ kind: 'delete' })
    expect(commandOf({ key: 'Enter' })).toEqual({ kind: 'open' })
    expect(commandOf({ key: 'Escape' })).toEqual({ kind: 'close' })
    expect(commandOf({ key: 'x' })).toBeNull()
    expect(commandOf({ key: 'ArrowLeft', altKey: true })).toBeNull()
  })
  it('leaves a text field its own keys, except save and Escape', () => {
    expect(commandOf({ key: 'z', ctrlKey: true }, true)).toBeNull()
    expect(commandOf({ key: 'Backspace' }, true)).toBeNull()
    expect(commandOf({ key: 's', ctrlKey: true }, true)).toEqual({ kind: 'save' })
    expect(commandOf({ key: 'Escape' }, true)).toEqual({ kind: 'close' })
  })
  it('finds the nearest node in a direction', () => {
    const nodes = [
      { id: 'start', position: { x: 0, y: 100 } },
      { id: 'check', position: { x: 300, y: 100 } },
      { id: 'yes', position: { x: 600, y: 0 } },
      { id: 'no', position: { x: 600, y: 220 } },
      { id: 'far', position: { x: 1200, y: 100 } },
    ]
    expect(nearestInDirection(nodes, 'start', 'right')).toBe('check')
    expect(nearestInDirection(nodes, 'check', 'right')).toBe('yes')
    expect(nearestInDirection(nodes, 'yes', 'down')).toBe('no')
    expect(nearestInDirection(nodes, 'no', 'up')).toBe('yes')
    expect(nearestInDirection(nodes, 'check', 'left')).toBe('start')
    expect(nearestInDirection(nodes, 'start', 'left')).toBeNull()
    // nothing in the cone: the nearest on that side
    expect(nearestInDirection(nodes, 'far', 'up')).toBe('yes')
    // no selection: the top-left node
    expect(nearestInDirection(nodes, null, 'right')).toBe('start')
    expect(nearestInDirection([], null, 'right')).toBeNull()
  })
  it('moves a position one step', () => {
    expect(moved({ x: 10, y: 10 }, 'left')).toEqual({ x: -10, y: 10 })
    expect(moved({ x: 10, y: 10 }, 'down', 5)).toEqual({ x: 10, y: 15 })
  })
})
