// Pure functions of the apps catalog: filtering and the facets offered.
import type { ItemOf } from '~/api/types'

export type App = ItemOf<'/api/apps'>
export type Source = 'all' | 'builtin' | 'custom'

export interface AppFilter {
  text: string
  source: Source
  category: string | null
}

/** Apps matching the search text (name, slug, vendor, description), source and category. */
export function filterApps(apps: readonly App[], filter: AppFilter): App[] {
  const words = filter.text.trim().toLowerCase().split(/\s+/).filter(Boolean)
  return apps.filter((app) => {
    if (filter.source === 'builtin' && !app.builtin) return false
    if (filter.source === 'custom' && app.builtin) return false
    if (filter.category && app.category !== filter.category) return false
    if (!words.length) return true
    const hay = `${app.name} ${app.slug} ${app.vendor} ${app.description} ${app.category}`.toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}

/** The categories present, sorted. */
export function categoriesOf(apps: readonly App[]): string[] {
  return [...new Set(apps.map((a) => a.category))].sort()
}

/** A slug proposed from a name (the API's pattern: ^[a-z][a-z0-9_-]{1,62}$). */
export function slugFrom(name: string): string {
  const s = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  const lead = /^[a-z]/.test(s) ? s : `app-${s}`
  return lead.slice(0, 63).replace(/-+$/, '') || 'app'
}

/** Initials for an app without an icon. */
export function initials(name: string): string {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('') || '?'
}
