import { describe, expect, it } from 'vitest'
import { configSchema, nodeFromTemplate, paletteGroups, type Template } from './palette.utils'

const templates: Template[] = [
  { kind: 'step_type', type: 'condition', variant: null, title: 'Condition', description: 'Branch on a rule',
    config_schema: { type: 'object' }, default_config: { rule: true }, ports: ['true', 'false'] },
  { kind: 'step_type', type: 'transform', variant: 'jsonata', title: 'JSONata transform', description: 'One expression',
    config_schema: { type: 'object' }, default_config: null, ports: ['out'] },
  { kind: 'app_action', type: 'action', ref: 'a2', title: 'Send message', description: '', app_id: 'slack',
    input_schema: { type: 'object', properties: { text: { type: 'string' } } }, sample_input: { text: 'hi' } },
  { kind: 'app_action', type: 'action', ref: 'a1', title: 'Create issue', description: '', app_id: 'github',
    input_schema: { type: 'object' }, sample_input: {} },
  { kind: 'custom', type: 'http_request', ref: 'tpl:ping', name: 'ping', title: 'Ping', description: '', config: {} },
]

describe('palette', () => {
  it('groups steps, then apps by name, then presets', () => {
    const groups = paletteGroups(templates, '', (id) => ({ slack: 'Slack', github: 'GitHub' }[id] ?? id))
    expect(groups.map((g) => [g.title, g.items.map((i) => i.key)])).toEqual([
      ['Steps', ['step:condition', 'step:transform:jsonata']],
      ['GitHub', ['app_action:a1']],
      ['Slack', ['app_action:a2']],
      ['Presets', ['custom:tpl:ping']],
    ])
  })
  it('searches titles, descriptions and types, dropping empty groups', () => {
    expect(paletteGroups(templates, 'BRANCH').map((g) => g.items.map((i) => i.title))).toEqual([['Condition']])
    expect(paletteGroups(templates, 'nothing like it')).toEqual([])
  })
  it('turns a template into a node and its form schema', () => {
    expect(nodeFromTemplate(templates[0]!)).toEqual({ type: 'condition', template: null, config: { rule: true } })
    expect(nodeFromTemplate(templates[2]!)).toEqual({ type: 'action', template: 'a2', config: { input: { text: 'hi' } } })
    expect(nodeFromTemplate(templates[4]!)).toEqual({ type: 'http_request', template: 'tpl:ping', config: {} })
    expect(configSchema(templates[2]!)).toEqual({ type: 'object', properties: { input: { type: 'object', properties: { text: { type: 'string' } } } } })
    expect(configSchema(undefined)).toBeNull()
  })
})
