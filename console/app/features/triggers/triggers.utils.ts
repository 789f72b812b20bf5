// Triggers: the create / edit form and the bodies it sends, the cron's human reading,
// and how deliveries' outcomes are shown. Pure: no I/O, no Vue.
import cronstrue from 'cronstrue'
import type { Schemas } from '~/api/types'

export type Trigger = Schemas['Trigger']
export type Kind = Trigger['kind']
export type Scheme = Schemas['WebhookSettings']['signature_scheme']
export type Outcome = Schemas['Delivery']['outcome']

export const KINDS: Array<{ title: string; value: Kind }> = [
  { title: 'Manual', value: 'manual' }, { title: 'Webhook', value: 'webhook' }, { title: 'Schedule (cron)', value: 'cron' },
]
export const SCHEMES: Array<{ title: string; value: Scheme }> = [
  { title: 'Standard Webhooks', value: 'standard_webhooks' }, { title: 'GitHub', value: 'github' },
  { title: 'Stripe', value: 'stripe' }, { title: 'Shopify', value: 'shopify' }, { title: 'Slack', value: 'slack' },
]
/** Schemes whose secret the vendor issues: the form must be given it (the others get one generated). */
export const VENDOR_SECRET: ReadonlySet<Scheme> = new Set(['stripe', 'shopify', 'slack'])

export interface TriggerForm {
  kind: Kind
  name: string
  enabled: boolean
  /** The default run input, as JSON text ('' = none). */
  input: string
  path: string
  scheme: Scheme
  secret: string
  correlationKey: string
  payload: 'envelope' | 'body'
  cron: string
  timezone: string
  missed: 'fire_once' | 'skip'
}

export function blankForm(kind: Kind = 'webhook'): TriggerForm {
  return {
    kind, name: '', enabled: true, input: '', path: '', scheme: 'standard_webhooks', secret: '', correlationKey: '',
    payload: 'envelope', cron: '0 9 * * 1-5', timezone: 'UTC', missed: 'fire_once',
  }
}

/** The form for editing a trigger (secrets are never read back: the field starts empty). */
export function formOf(t: Trigger): TriggerForm {
  return {
    ...blankForm(t.kind), name: t.name, enabled: t.enabled,
    input: t.input === null || t.input === undefined ? '' : JSON.stringify(t.input, null, 2),
    ...(t.webhook ? {
      path: t.webhook.path, scheme: t.webhook.signature_scheme, correlationKey: t.webhook.correlation_key ?? '',
      payload: t.webhook.payload,
    } : {}),
    ...(t.schedule ? { cron: t.schedule.cron, timezone: t.schedule.timezone, missed: t.schedule.missed_slot_policy } : {}),
  }
}

export class InputError extends Error {}

/** The input JSON text as a value (`null` when empty); throws InputError when it is no JSON. */
export function parseInput(text: string): unknown {
  if (!text.trim()) return null
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new InputError(`The input is not JSON: ${(err as Error).message}`)
  }
}

/** `POST …/triggers`: only the section of the trigger's kind. */
export function createBody(f: TriggerForm) {
  return {
    kind: f.kind, name: f.name.trim(), enabled: f.enabled, input: parseInput(f.input),
    webhook: f.kind === 'webhook' ? {
      path: f.path.trim() || null, signature_scheme: f.scheme, secret: f.secret || null,
      correlation_key: f.correlationKey.trim() || null, payload: f.payload,
    } : null,
    schedule: f.kind === 'cron' ? { cron: f.cron.trim(), timezone: f.timezone.trim() || 'UTC', missed_slot_policy: f.missed } : null,
  }
}

/** `PATCH …/triggers/{id}`: only what changed (an untouched secret field keeps the stored secret). */
export function changesBody(f: TriggerForm, before: Trigger): Record<string, unknown> {
  const was = formOf(before)
  const out: Record<string, unknown> = {}
  if (f.name.trim() !== was.name) out.name = f.name.trim()
  if (f.enabled !== was.enabled) out.enabled = f.enabled
  if (f.input.trim() !== was.input.trim()) out.input = parseInput(f.input)
  if (before.kind === 'webhook') {
    const w: Record<string, unknown> = {}
    if (f.path.trim() && f.path.trim() !== was.path) w.path = f.path.trim()
    if (f.scheme !== was.scheme) w.signature_scheme = f.scheme
    if (f.secret) w.secret = f.secret
    if (f.correlationKey.trim() !== was.correlationKey) w.correlation_key = f.correlationKey.trim() || null
    if (f.payload !== was.payload) w.payload = f.payload
    if (Object.keys(w).length) out.webhook = w
  }
  if (before.kind === 'cron') {
    const s: Record<string, unknown> = {}
    if (f.cron.trim() !== was.cron) s.cron = f.cron.trim()
    if (f.timezone.trim() !== was.timezone) s.timezone = f.timezone.trim()
    if (f.missed !== was.missed) s.missed_slot_policy = f.missed
    if (Object.keys(s).length) out.schedule = s
  }
  return out
}

/** "At 09:00 AM, Monday through Friday" — or null when cronstrue cannot read it (the API says why). */
export function describeCron(expression: string): string | null {
  if (!expression.trim()) return null
  try {
    return cronstrue.toString(expression.trim(), { use24HourTimeFormat: true, verbose: false })
  } catch {
    return null
  }
}

/** One line about a trigger for the list. */
export function summary(t: Trigger): string {
  if (t.webhook) return `POST …/webhooks/…/${t.webhook.path} · ${t.webhook.signature_scheme}`
  if (t.schedule) return `${t.schedule.cron} (${t.schedule.timezone})${describeCron(t.schedule.cron) ? ` — ${describeCron(t.schedule.cron)}` : ''}`
  return 'Started by hand or through the API'
}

export const OUTCOMES: Outcome[] = ['started', 'queued', 'duplicate', 'bad_signature', 'stale_timestamp', 'disabled',
  'not_production', 'rate_limited', 'too_large', 'invalid', 'error']

export function outcomeColor(o: Outcome): string {
  if (o === 'started' || o === 'queued') return 'success'
  if (o === 'duplicate' || o === 'disabled' || o === 'not_production') return 'info'
  if (o === 'rate_limited' || o === 'too_large' || o === 'stale_timestamp') return 'warning'
  return 'error'
}
