// @vitest-environment happy-dom
import { fireEvent, screen } from '@testing-library/vue'
import { describe, expect, it } from 'vitest'
import { ApiError } from '~/api/errors'
import { renderWithVuetify } from '~/test/render'
import PageState from './PageState.vue'

const slots = { default: '<p>the content</p>' }

describe('PageState', () => {
  it('shows loading, then the content', async () => {
    const view = renderWithVuetify(PageState, { props: { loading: true, error: null }, slots })
    expect(screen.getByText('Loading…')).toBeTruthy()
    expect(screen.queryByText('the content')).toBeNull()
    await view.rerender({ loading: false, error: null })
    expect(screen.getByText('the content')).toBeTruthy()
  })

  it('shows the error with a retry button', async () => {
    const view = renderWithVuetify(PageState, {
      props: { loading: false, error: new ApiError(403, { error: { code: 'forbidden', message: 'Admins only.' } }) }, slots,
    })
    expect(screen.getByRole('alert').textContent).toContain('Admins only.')
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }))
    expect(view.emitted('retry')).toHaveLength(1)
  })

  it('shows the empty state', () => {
    renderWithVuetify(PageState, { props: { loading: false, error: null, empty: true, emptyTitle: 'No invitation yet' }, slots })
    expect(screen.getByRole('heading', { name: 'No invitation yet' })).toBeTruthy()
    expect(screen.queryByText('the content')).toBeNull()
  })
})
