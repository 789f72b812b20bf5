import { makeClient, type ApiClient } from '~/api/client'
import { ApiError } from '~/api/errors'

let client: ApiClient | null = null

/** The typed API client (openapi-fetch over the generated contract), shared by every page. */
export function useApi(): ApiClient {
  client ??= makeClient()
  return client
}

/** Unwrap an openapi-fetch result: the data, or an ApiError carrying the API's error body. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw new ApiError(result.response.status, result.error)
  return result.data as T
}
