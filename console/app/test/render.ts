// Render a component with Vuetify, as the console does (Testing Library: query by role and label).
import { render, type RenderOptions } from '@testing-library/vue'
import { createVuetify } from 'vuetify'

export function renderWithVuetify(component: unknown, options: RenderOptions<any> = {}) {
  const vuetify = createVuetify()
  return render(component as any, { ...options, global: { ...(options.global ?? {}), plugins: [vuetify] } })
}
