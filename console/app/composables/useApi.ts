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

/** Every item of a paged list (`{items, next_cursor}`), following the cursor up to `max` items. */
export async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  max = 5000,
): Promise<{ items: T[]; next_cursor: null }> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await fetchPage(cursor)
    items.push(...page.items)
    cursor = page.next_cursor ?? undefined
  } while (cursor && items.length < max)
  return { items, next_cursor: null }
}
