import createClient from 'openapi-fetch'
import type { paths } from './schema'
import { authFetch } from './transport'

/** The typed API client (same origin: the console is served beside the API). */
export function makeClient(baseUrl = '') {
  return createClient<paths>({
    baseUrl: baseUrl || (typeof window !== 'undefined' ? window.location.origin : ''),
    fetch: authFetch,
  })
}

export type ApiClient = ReturnType<typeof makeClient>
