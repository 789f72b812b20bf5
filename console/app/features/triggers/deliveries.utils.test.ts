import { describe, expect, it } from 'vitest'
import { bodyNote, formatBytes, headerRows, requestText, shownBody, type DeliveryRequest } from './deliveries.utils'

const request = (over: Partial<DeliveryRequest> = {}): DeliveryRequest => ({
  method: 'POST', headers: { 'webhook-signature': '••••', 'content-type': 'application/json' },
  body: '{"order":"A-1","password":"••••"}', body_encoding: 'json', truncated: false, size: 33, ...over,
})

describe('a delivery request', () => {
  it('lists headers by name', () => {
    expect(headerRows(request())).toEqual([
      { name: 'content-type', value: 'application/json' }, { name: 'webhook-signature', value: '••••' },
    ])
  })

  it('shows a complete JSON body as JSON, a cut one as text', () => {
    expect(shownBody(request())).toEqual({ kind: 'json', value: { order: 'A-1', password: '••••' }, text: request().body })
    expect(shownBody(request({ body: '{"order":', body_encoding: 'text', truncated: true }))).toEqual({ kind: 'text', text: '{"order":' })
    expect(shownBody(request({ body: 'not json', body_encoding: 'json' }))).toEqual({ kind: 'text', text: 'not json' })
  })

  it('shows a binary body as its size and an empty one as empty', () => {
    expect(shownBody(request({ body: null, body_encoding: 'binary', size: 2048 }))).toEqual({ kind: 'binary' })
    expect(bodyNote(request({ body: null, body_encoding: 'binary', size: 2048 }))).toBe('Binary body of 2.0 KiB: only its size is kept.')
    expect(shownBody(request({ body: '', body_encoding: 'text', size: 0 }))).toEqual({ kind: 'empty' })
  })

  it('says when a body was truncated, and nothing otherwise', () => {
    expect(bodyNote(request({ truncated: true, body_encoding: 'text', size: 200_000 }))).toBe('Truncated: the first 64 KiB of 195 KiB are shown.')
    expect(bodyNote(request())).toBeNull()
  })

  it('copies as HTTP text', () => {
    expect(requestText(request(), '/webhooks/w/orders')).toBe(
      'POST /webhooks/w/orders\ncontent-type: application/json\nwebhook-signature: ••••\n\n{"order":"A-1","password":"••••"}')
    expect(requestText(request({ body: null, body_encoding: 'binary' }))).toBe('POST /\ncontent-type: application/json\nwebhook-signature: ••••\n\n')
  })

  it('formats sizes', () => {
    expect([formatBytes(null), formatBytes(12), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['—', '12 B', '1.5 KiB', '3.0 MiB'])
  })
})
