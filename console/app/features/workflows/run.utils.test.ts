import { describe, expect, it } from 'vitest'
import { nodeRunStates, testInputText, type StepLike } from './run.utils'

const step = (node_id: string, status: string, attempt = 1, instance_key = ''): StepLike =>
  ({ node_id, instance_key, attempt, status, input: { n: attempt }, output: null, error: null, duration_ms: 3 })

describe('a run on the canvas', () => {
  it('shows each node’s newest attempt and counts attempts', () => {
    const states = nodeRunStates([step('s', 'success'), step('h', 'failed', 1), step('h', 'success', 2), step('e', 'queued')])
    expect(states.get('s')?.status).toBe('success')
    expect(states.get('h')).toMatchObject({ status: 'success', attempts: 2, instances: 1 })
    expect(states.get('h')?.last.attempt).toBe(2)
    expect(states.get('e')?.status).toBe('queued')
    expect(states.has('x')).toBe(false)
  })
  it('sums a for-each body’s instances: a failed or running one colours the node', () => {
    const states = nodeRunStates([step('b', 'success', 1, '0'), step('b', 'failed', 1, '1'), step('b', 'success', 1, '2')])
    expect(states.get('b')).toMatchObject({ status: 'failed', attempts: 3, instances: 3 })
    expect(states.get('b')?.last.instance_key).toBe('0')
    const running = nodeRunStates([step('b', 'success', 1, '0'), step('b', 'running', 1, '1')])
    expect(running.get('b')?.status).toBe('running')
  })
  it('starts a test run with the start payload’s payload', () => {
    expect(JSON.parse(testInputText({ payload: { order: 1 } }))).toEqual({ order: 1 })
    expect(testInputText(null)).toBe('null')
    expect(testInputText({ other: 1 })).toBe('null')
  })
})
