import { describe, expect, it } from 'vitest'
import { categoriesOf, filterApps, initials, slugFrom, type App } from './catalog.utils'

const app = (over: Partial<App>): App => ({
  id: 'x', builtin: false, name: 'X', slug: 'x', vendor: 'V', category: 'misc', description: '', icon: '',
  status: 'published', created_at: null, updated_at: null, auth_type: null, latest_version_id: null, draft_version_id: null,
  ...over,
})
const apps = [
  app({ id: 'builtin:slack', builtin: true, name: 'Slack', category: 'communication', description: 'Post messages' }),
  app({ id: 'builtin:stripe', builtin: true, name: 'Stripe', category: 'payments' }),
  app({ id: 'c1', name: 'Orders API', vendor: 'ACME', category: 'ecommerce' }),
]

describe('filterApps', () => {
  it('searches name, vendor and description, every word', () => {
    expect(filterApps(apps, { text: 'post', source: 'all', category: null }).map((a) => a.id)).toEqual(['builtin:slack'])
    expect(filterApps(apps, { text: 'acme orders', source: 'all', category: null }).map((a) => a.id)).toEqual(['c1'])
    expect(filterApps(apps, { text: 'acme slack', source: 'all', category: null })).toEqual([])
  })
  it('filters by source and category', () => {
    expect(filterApps(apps, { text: '', source: 'custom', category: null }).map((a) => a.id)).toEqual(['c1'])
    expect(filterApps(apps, { text: '', source: 'builtin', category: 'payments' }).map((a) => a.id)).toEqual(['builtin:stripe'])
  })
  it('filters 500 apps', () => {
    const many = Array.from({ length: 500 }, (_, i) => app({ id: `a${i}`, name: `App ${i}`, category: `c${i % 7}` }))
    // every word anywhere: App 49, 149, 249, 349, 449 and 490-499
    expect(filterApps(many, { text: 'app 49', source: 'all', category: null })).toHaveLength(15)
    expect(categoriesOf(many)).toHaveLength(7)
  })
})

describe('names', () => {
  it('proposes a slug the API accepts', () => {
    expect(slugFrom('Echo Service!')).toBe('echo-service')
    expect(slugFrom('42 things')).toBe('app-42-things')
    expect(slugFrom('Ünïcode Café')).toBe('unicode-cafe')
    expect(slugFrom('')).toMatch(/^[a-z][a-z0-9_-]{1,62}$/)
  })
  it('makes initials', () => {
    expect(initials('ACME Orders API')).toBe('AO')
    expect(initials('')).toBe('?')
  })
})
