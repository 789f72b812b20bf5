import { describe, expect, it } from 'vitest'
import { expressionContext, expressionOptions, inputFields, jsonataMarkers, keyPathAt, samplePaths, schemaPaths, setAt, type ExprSources } from './expressions.utils'

const at = (text: string) => text.indexOf('|')
const strip = (text: string) => text.replace('|', '')

describe('expression context', () => {
  it('finds an open template and what is typed in it', () => {
    const t = '{"input": {"text": "Order {{ order.i|"}}'
    expect(expressionContext(strip(t), at(t))).toEqual({ kind: 'template', partial: 'order.i', from: at(t) - 7, key: 'input' })
    const closed = '{"text": "{{ a }} and |"}'
    expect(expressionContext(strip(closed), at(closed))).toBeNull()
    const filter = '{"text": "{{ a | up|"}'
    expect(expressionContext(strip(filter), at(filter))).toBeNull()
  })
  it('finds a JSONata marker and the word being typed', () => {
    const t = '{"output": {"sum": {"$jsonata": "$sum(ite|"}}}'
    expect(expressionContext(strip(t), at(t))).toEqual({ kind: 'jsonata', partial: 'ite', from: at(t) - 3, key: 'output' })
  })
  it('follows the keys to the cursor, past strings with braces and escapes', () => {
    const t = '{"a": "x{\\"", "headers": {"Auth|'
    expect(keyPathAt(strip(t), at(t))).toEqual(['headers'])
    const u = '{"a": 1, "json": {"b": [1, {"c": |'
    expect(keyPathAt(strip(u), at(u))).toEqual(['json', 'b', 'c'])
    const v = '{"a": {"b": 1}, "c": |'
    expect(keyPathAt(strip(v), at(v))).toEqual(['c'])
  })
})

describe('expression options', () => {
  const sources: ExprSources = {
    fields: [{ path: 'order', detail: 'object' }, { path: 'order.id', detail: 'string' }],
    env: ['REGION'], secrets: ['API_KEY'], secretKeys: ['input'],
  }
  it('offers input fields, env, trigger and run, filtered by what is typed', () => {
    const labels = expressionOptions({ kind: 'template', partial: 'ord', from: 0, key: 'input' }, sources).map((o) => o.label)
    expect(labels).toEqual(['order', 'order.id'])
    const dollar = expressionOptions({ kind: 'template', partial: '$', from: 0, key: 'input' }, sources).map((o) => o.label)
    expect(dollar).toContain('$env.REGION')
    expect(dollar).toContain('$secrets.API_KEY')
    expect(dollar).toContain('$trigger.kind')
    expect(dollar).toContain('$run.id')
  })
  it('offers $secrets only where a credential may go, and never in JSONata', () => {
    const elsewhere = expressionOptions({ kind: 'template', partial: '$sec', from: 0, key: 'output' }, sources)
    expect(elsewhere).toEqual([])
    const jsonata = expressionOptions({ kind: 'jsonata', partial: '$sec', from: 0, key: 'input' }, sources)
    expect(jsonata).toEqual([])
  })
})

describe('field hints', () => {
  it('lists a sample payload’s paths', () => {
    expect(samplePaths({ order: { id: 'o1', lines: [{ sku: 'a' }] }, ok: true, $skip: 1 })).toEqual([
      { path: 'order', detail: 'object' },
      { path: 'order.id', detail: 'string' },
      { path: 'order.lines', detail: 'array' },
      { path: 'order.lines[0]', detail: 'object' },
      { path: 'order.lines[0].sku', detail: 'string' },
      { path: 'ok', detail: 'boolean' },
    ])
    expect(samplePaths(null)).toEqual([])
    expect(samplePaths({ a: { b: { c: { d: { e: { f: 1 } } } } } }, { maxDepth: 2 }).map((h) => h.path)).toEqual(['a', 'a.b', 'a.b.c'])
  })
  it('lists a schema’s paths', () => {
    const schema = { type: 'object', properties: { id: { type: 'integer', description: 'Issue number' },
      labels: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } } } }
    expect(schemaPaths(schema)).toEqual([
      { path: 'id', detail: 'integer · Issue number' },
      { path: 'labels', detail: 'array' },
      { path: 'labels[0]', detail: 'object' },
      { path: 'labels[0].name', detail: 'string' },
    ])
    expect(schemaPaths(true)).toEqual([])
  })
})

describe('JSONata markers', () => {
  it('lists every marker with its path and edits one in place', () => {
    const config = { output: { sum: { $jsonata: '$sum(items)' }, n: 1 }, cases: [{ port: 'big', when: { $jsonata: 'a > 1' } }] }
    expect(jsonataMarkers(config)).toEqual([
      { path: ['output', 'sum'], expression: '$sum(items)' },
      { path: ['cases', '0', 'when'], expression: 'a > 1' },
    ])
    const changed = setAt(config, ['cases', '0', 'when', '$jsonata'], 'a > 2')
    expect(changed.cases[0]!.when).toEqual({ $jsonata: 'a > 2' })
    expect(config.cases[0]!.when).toEqual({ $jsonata: 'a > 1' })
    expect(Array.isArray(changed.cases)).toBe(true)
    expect(jsonataMarkers({ $jsonata: 'amount > 100' })).toEqual([{ path: [], expression: 'amount > 100' }])
    expect(jsonataMarkers({ a: { $jsonata: 1 } })).toEqual([])
  })
})

describe('what a node will see', () => {
  it('prefers its last input, then its predecessors’ last outputs, then the start payload or an output schema', () => {
    const upstream = [{ id: 's', type: 'start' }, { id: 'a', type: 'action', outputSchema: { properties: { id: { type: 'integer' } } } }]
    expect(inputFields({ upstream, lastInput: { seen: 1 } }).map((f) => f.path)).toEqual(['seen'])
    expect(inputFields({ upstream, startPayload: { order: { id: 1 } }, inputSchema: { properties: { order: {}, note: {} } } })
      .map((f) => f.path)).toEqual(['order', 'order.id', 'note', 'id'])
    expect(inputFields({ upstream, lastOutputs: new Map([['a', { number: 7 }]]), startPayload: null }).map((f) => f.path))
      .toEqual(['number'])
    expect(inputFields({ upstream: [] })).toEqual([])
  })
})
