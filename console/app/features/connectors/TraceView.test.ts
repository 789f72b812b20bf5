// @vitest-environment happy-dom
import { screen } from '@testing-library/vue'
import { describe, expect, it } from 'vitest'
import type { ResponseOf } from '~/api/types'
import { renderWithVuetify } from '~/test/render'
import TraceView from './TraceView.vue'

type Report = ResponseOf<'/api/actions/{action_id}/test', 'post'>

const ok: Report = {
  ok: true, action: 'echo', status: 200, duration_ms: 42, output: { echoed: true },
  request: { method: 'POST', url: 'http://127.0.0.1:9/anything', headers: { 'X-API-Key': '••••_Zq9' }, body: { message: 'hi' } },
  response: { status: 200, headers: { 'content-type': 'application/json' }, body: { json: { message: 'hi' } } },
  attempts: [{ number: 1, status: 200, error_code: null, duration_ms: 42, waited_ms: 0, after_reauthorization: false }],
  error: null, connection: { id: 'c1', status: 'ok' },
}

describe('TraceView', () => {
  it('shows status, timing and the masked request and response', () => {
    renderWithVuetify(TraceView, { props: { report: ok } })
    expect(screen.getByText('Succeeded')).toBeTruthy()
    expect(screen.getByTestId('trace-status').textContent).toContain('200')
    expect(screen.getByTestId('trace-duration').textContent).toContain('42 ms')
    expect(screen.getByRole('region', { name: 'Request (masked)' }).textContent).toContain('X-API-Key: ••••_Zq9')
    expect(screen.getByRole('region', { name: 'Response (masked)' }).textContent).toContain('"message": "hi"')
  })

  it('shows a failure with its code and every attempt', () => {
    const failed: Report = {
      ...ok, ok: false, status: 503, output: null,
      error: { code: 'upstream_unavailable', message: 'The vendor is unavailable.', retryable: true, upstream_status: 503, vendor_code: null },
      attempts: [
        { number: 1, status: 503, error_code: 'upstream_unavailable', duration_ms: 10, waited_ms: 0, after_reauthorization: false },
        { number: 2, status: 503, error_code: 'upstream_unavailable', duration_ms: 11, waited_ms: 500, after_reauthorization: false },
      ],
    }
    renderWithVuetify(TraceView, { props: { report: failed } })
    expect(screen.getByText('The vendor is unavailable.')).toBeTruthy()
    expect(screen.getByText('upstream_unavailable', { selector: 'code' })).toBeTruthy()
    expect(screen.getByRole('table', { name: 'Attempts' }).textContent).toContain('500 ms')
    expect(screen.queryByTestId('trace-output')).toBeNull()
  })
})
