// @vitest-environment happy-dom
import { fireEvent, screen, waitFor } from '@testing-library/vue'
import { describe, expect, it } from 'vitest'
import { renderWithVuetify } from '~/test/render'
import SchemaForm from './SchemaForm.vue'

// An action input schema as the API describes it (Slack's post_message).
const schema = {
  type: 'object', additionalProperties: false, required: ['body'],
  properties: {
    path: { $id: 'urn:stepline:action-input:post_message:path', type: 'object' },
    query: { $id: 'urn:stepline:action-input:post_message:query', type: 'object' },
    body: {
      $id: 'urn:stepline:action-input:post_message:body', type: 'object', required: ['channel'],
      properties: { channel: { type: 'string', minLength: 1 }, text: { type: 'string' } },
      anyOf: [{ required: ['text'] }, { required: ['blocks'] }],
    },
  },
}

describe('SchemaForm', () => {
  it('shows the data it is given and emits edits', async () => {
    const view = renderWithVuetify(SchemaForm, { props: { schema, modelValue: { body: { channel: 'C1', text: 'hi' } } } })
    const channel = await screen.findByRole('textbox', { name: /Channel/ }) as HTMLInputElement
    expect(channel.value).toBe('C1')
    expect((screen.getByRole('textbox', { name: /Text/ }) as HTMLInputElement).value).toBe('hi')
    expect(screen.queryByText('Path')).toBeNull() // a section without fields is not offered
    await fireEvent.update(channel, 'C2')
    await waitFor(() => {
      const updates = view.emitted('update:modelValue') as Array<[Record<string, unknown>]>
      expect(updates.at(-1)![0]).toEqual({ body: { channel: 'C2', text: 'hi' } })
    })
  })

  it('renders secrets as password fields that start empty', async () => {
    const auth = { type: 'object', required: ['api_key'], properties: { api_key: { type: 'string', title: 'API key', writeOnly: true } } }
    renderWithVuetify(SchemaForm, { props: { schema: auth, modelValue: {} } })
    const key = await screen.findByLabelText(/API key/, { selector: 'input' }) as HTMLInputElement
    expect(key.type).toBe('password')
    expect(key.value).toBe('')
  })
})
