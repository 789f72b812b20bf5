// The apps catalog and the providers (apps with their connection schemas), shared by the
// apps, connections and action-tester pages; loaded once per tenant, refreshed on change.
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { ItemOf } from '~/api/types'
import { useApi, unwrap } from '~/composables/useApi'
import { fetchAll } from '~/features/connectors/fetchAll'
import { useSessionStore } from './session'

export type App = ItemOf<'/api/apps'>
export type Provider = ItemOf<'/api/providers'>

export const useCatalogStore = defineStore('catalog', () => {
  const session = useSessionStore()
  const apps = ref<App[] | null>(null)
  const providers = ref<Provider[] | null>(null)
  let appsLoad: Promise<App[]> | null = null
  let providersLoad: Promise<Provider[]> | null = null

  async function loadApps(force = false): Promise<App[]> {
    if (apps.value && !force) return apps.value
    appsLoad ??= fetchAll(async (cursor) => unwrap(await useApi().GET('/api/apps', {
      params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } },
    }))).then((all) => (apps.value = all)).finally(() => { appsLoad = null })
    return appsLoad
  }

  async function loadProviders(force = false): Promise<Provider[]> {
    if (providers.value && !force) return providers.value
    providersLoad ??= fetchAll(async (cursor) => unwrap(await useApi().GET('/api/providers', {
      params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } },
    }))).then((all) => (providers.value = all)).finally(() => { providersLoad = null })
    return providersLoad
  }

  /** After an app changed: both lists are read again when next needed. */
  function invalidate(): void {
    apps.value = null
    providers.value = null
  }

  watch(() => session.tenant?.id, invalidate)

  return { apps, providers, loadApps, loadProviders, invalidate }
})
