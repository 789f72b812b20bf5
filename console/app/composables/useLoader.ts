import { ref, shallowRef, type Ref } from 'vue'
import { ApiError } from '~/api/errors'

export interface Loader<T> {
  data: Ref<T | null>
  loading: Ref<boolean>
  error: Ref<ApiError | null>
  load: () => Promise<void>
}

/** Loading / error / data state of one API read, for the page states. */
export function useLoader<T>(fetcher: () => Promise<T>, { immediate = true } = {}): Loader<T> {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(false)
  const error = shallowRef<ApiError | null>(null)
  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      data.value = await fetcher()
    } catch (err) {
      error.value = err instanceof ApiError ? err : new ApiError(0, null)
    } finally {
      loading.value = false
    }
  }
  if (immediate) void load()
  return { data, loading, error, load }
}

/** Run a mutation; keeps its error (ApiError) for the form to show. */
export function useAction<A extends unknown[], T>(run: (...args: A) => Promise<T>) {
  const pending = ref(false)
  const error = shallowRef<ApiError | null>(null)
  async function go(...args: A): Promise<T | undefined> {
    pending.value = true
    error.value = null
    try {
      return await run(...args)
    } catch (err) {
      error.value = err instanceof ApiError ? err : new ApiError(0, null)
      return undefined
    } finally {
      pending.value = false
    }
  }
  return { pending, error, go }
}
