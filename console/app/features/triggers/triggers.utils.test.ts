import { describe, expect, it } from 'vitest'
import { InputError, blankForm, changesBody, createBody, describeCron, formOf, outcomeColor, summary, type Trigger } from './triggers.utils'

const base = {
  id: 't1', workspace_id: 'w', flow_id: 'f', name: 'Orders', enabled: true, available: true, input: null, created_by: null,
  created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:00Z',
}
const hook: Trigger = {
  ...base, kind: 'webhook', schedule: null,
  webhook: {
    path: 'orders', url: 'http://x/webhooks/w/orders', test_url: 'http://x/webhooks/w/orders/test', signature_scheme: 'github',
    secret: '••••abcd', previous_secret_expires_at: null, correlation_key: null, payload: 'envelope', new_secret: null,
  },
}
const cron: Trigger = {
  ...base, kind: 'cron', webhook: null,
  schedule: { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', missed_slot_policy: 'fire_once', next_fire_at: null, last_slot: null, upcoming: null },
}

describe('trigger bodies', () => {
  it('creates with only the section of the kind', () => {
    const f = { ...blankForm('webhook'), name: ' Orders ', input: '{"a": 1}', scheme: 'stripe' as const, secret: 'whsec_1' }
    expect(createBody(f)).toEqual({
      kind: 'webhook', name: 'Orders', enabled: true, input: { a: 1},
      webhook: { path: null, signature_scheme: 'stripe', secret: 'whsec_1', correlation_key: null, payload: 'envelope' }, schedule: null,
    })
    expect(createBody({ ...blankForm('cron'), cron: ' @hourly ', timezone: '' })).toMatchObject({
      webhook: null, schedule: { cron: '@hourly', timezone: 'UTC', missed_slot_policy: 'fire_once' }, input: null,
    })
    expect(createBody(blankForm('manual'))).toMatchObject({ kind: 'manual', webhook: null, schedule: null })
  })

  it('refuses input that is no JSON', () => {
    expect(() => createBody({ ...blankForm('manual'), input: '{oops' })).toThrow(InputError)
  })

  it('patches only what changed, never an untouched secret', () => {
    expect(changesBody(formOf(hook), hook)).toEqual({})
    expect(changesBody({ ...formOf(hook), enabled: false, correlationKey: '{{ body.id }}' }, hook))
      .toEqual({ enabled: false, webhook: { correlation_key: '{{ body.id }}' } })
    expect(changesBody({ ...formOf(hook), secret: 'new-one' }, hook)).toEqual({ webhook: { secret: 'new-one' } })
    expect(changesBody({ ...formOf(cron), cron: '*/5 * * * *', input: '[1]' }, cron)).toEqual({ input: [1], schedule: { cron: '*/5 * * * *' } })
  })
})

describe('display', () => {
  it('reads a cron expression, or gives up quietly', () => {
    expect(describeCron('0 9 * * 1-5')).toBe('At 09:00, Monday through Friday')
    expect(describeCron('not a cron')).toBeNull()
    expect(describeCron('')).toBeNull()
  })

  it('summarises triggers and colours outcomes', () => {
    expect(summary(hook)).toBe('POST …/webhooks/…/orders · github')
    expect(summary(cron)).toContain('Monday through Friday')
    expect([outcomeColor('started'), outcomeColor('duplicate'), outcomeColor('rate_limited'), outcomeColor('bad_signature')])
      .toEqual(['success', 'info', 'warning', 'error'])
  })
})
