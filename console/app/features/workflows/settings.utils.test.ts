import { describe, expect, it } from 'vitest'
import { envFromRows, envRows, secretFields, secretRows, secretsFromRows, startPayloadText } from './settings.utils'

describe('workflow settings', () => {
  it('shows the stored start payload as it is, and {"payload": null} when there is none', () => {
    expect(JSON.parse(startPayloadText(null))).toEqual({ payload: null })
    expect(JSON.parse(startPayloadText({ payload: { a: 1 }, note: 'kept' }))).toEqual({ payload: { a: 1 }, note: 'kept' })
  })
  it('round-trips environment variables with their types', () => {
    const env = { REGION: 'eu', LIMIT: 5, DRY_RUN: true }
    const rows = envRows(env)
    expect(rows).toEqual([
      { name: 'REGION', type: 'string', value: 'eu' },
      { name: 'LIMIT', type: 'number', value: '5' },
      { name: 'DRY_RUN', type: 'boolean', value: 'true' },
    ])
    expect(envFromRows(rows)).toEqual({ env, issues: [] })
  })
  it('says what is wrong with a row', () => {
    const { env, issues } = envFromRows([
      { name: ' ', type: 'string', value: 'x' },
      { name: 'A', type: 'number', value: 'ten' },
      { name: 'B', type: 'string', value: '' },
      { name: 'B', type: 'string', value: 'again' },
      { name: 'C', type: 'boolean', value: 'yes' },
    ])
    expect(env).toEqual({ B: '' })
    expect(issues.map((i) => i.row)).toEqual([0, 1, 3, 4])
  })
  it('round-trips secret references and needs both a connection and a field', () => {
    const secrets = { TOKEN: { connection_id: 'c1', field: 'token' } }
    expect(secretsFromRows(secretRows(secrets))).toEqual({ secrets, issues: [] })
    const bad = secretsFromRows([{ name: 'X', connection_id: 'c1', field: null }, { name: '', connection_id: null, field: null }])
    expect(bad.secrets).toEqual({})
    expect(bad.issues.map((i) => i.row)).toEqual([0, 1])
  })
  it('offers a connection’s credential fields, never their values', () => {
    expect(secretFields({ credentials: { token: '••••abcd', api_key: '••••1234' } })).toEqual(['api_key', 'token'])
    expect(secretFields(undefined)).toEqual([])
  })
})
