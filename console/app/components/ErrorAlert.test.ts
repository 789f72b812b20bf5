// @vitest-environment happy-dom
import { screen } from '@testing-library/vue'
import { describe, expect, it } from 'vitest'
import { ApiError } from '~/api/errors'
import { renderWithVuetify } from '~/test/render'
import ErrorAlert from './ErrorAlert.vue'

describe('ErrorAlert', () => {
  it('shows the API message and the fields it names', () => {
    const error = new ApiError(422, { error: { code: 'validation_failed', message: 'Check the form.', request_id: 'req-9',
      details: [{ path: '/email', issue: 'must be an address' }] } })
    renderWithVuetify(ErrorAlert, { props: { error, title: 'Not saved' } })
    const alert = screen.getByRole('alert')
    expect(alert.textContent).toContain('Check the form.')
    expect(alert.textContent).toContain('email: must be an address')
    expect(alert.textContent).toContain('req-9')
  })

  it('renders nothing without an error', () => {
    renderWithVuetify(ErrorAlert, { props: { error: null } })
    expect(screen.queryByRole('alert')).toBeNull()
  })
})
