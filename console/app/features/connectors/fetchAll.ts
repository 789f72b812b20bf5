// Every page of a list route ({items, next_cursor}), up to a bound.
export async function fetchAll<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  max = 5000,
): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const got = await page(cursor)
    out.push(...got.items)
    cursor = got.next_cursor ?? undefined
  } while (cursor && out.length < max)
  return out
}
