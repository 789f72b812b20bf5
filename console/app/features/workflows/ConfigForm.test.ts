// @vitest-environment happy-dom
import { render, screen } from '@testing-library/vue'
import { describe, expect, it } from 'vitest'
import { createVuetify } from 'vuetify'
import { vuetifyOptions } from '~/utils/vuetifyOptions'
import ConfigForm from './ConfigForm.vue'

// An action's input as the HTTP app describes it: free-form query and headers (JSON Forms draws
// "Add" buttons for them) and an array (add, move and delete buttons per item).
const schema = {
  type: 'object',
  properties: {
    query: { type: 'object', title: 'Query', additionalProperties: { type: 'string' } },
    tags: { type: 'array', title: 'Tags', items: { type: 'string' } },
  },
}

describe('ConfigForm', () => {
  it('draws every icon of the JSON Forms renderers from the console’s SVG icon set', async () => {
    const { container } = render(ConfigForm, {
      props: { schema, data: { tags: ['a', 'b'] }, readonly: false },
      global: { plugins: [createVuetify(vuetifyOptions())] },
    })
    await screen.findByRole('button', { name: /^Add to Query/ })
    const icons = [...container.querySelectorAll('.v-icon')]
    expect(icons.length).toBeGreaterThan(2)
    // an alias the icon set does not know is drawn as a path named after it ("mdi-plus"), or as text
    const paths = icons.map((i) => i.querySelector('path')?.getAttribute('d') ?? `text: ${i.textContent?.trim()}`)
    for (const d of paths) expect(d).toMatch(/^M[\d.\s,-]/)
  })
})
