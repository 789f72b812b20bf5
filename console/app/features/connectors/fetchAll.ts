// Every item of a list route ({items, next_cursor}), up to a bound (the shared allPages, items only).
import { allPages } from '~/composables/useApi'

export async function fetchAll<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  max = 5000,
): Promise<T[]> {
  return (await allPages(page, max)).items
}
