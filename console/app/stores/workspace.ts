// The workspace the user is working in. The list is what the API returns for the
// caller (a builder or viewer sees only their workspaces); nothing is filtered here.
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { useSessionStore } from './session'

const KEY = 'stepline.workspace'

export const useWorkspaceStore = defineStore('workspace', () => {
  const session = useSessionStore()
  const chosenId = ref<string | null>(null)

  const workspaces = computed(() => session.me?.workspaces ?? [])
  const current = computed(() =>
    workspaces.value.find((w) => w.id === chosenId.value) ?? workspaces.value[0] ?? null)

  function remembered(tenantId: string | undefined): string | null {
    if (!tenantId || typeof localStorage === 'undefined') return null
    return localStorage.getItem(`${KEY}.${tenantId}`)
  }

  function choose(id: string): void {
    chosenId.value = id
    const tenantId = session.tenant?.id
    if (tenantId && typeof localStorage !== 'undefined') localStorage.setItem(`${KEY}.${tenantId}`, id)
  }

  watch(() => session.tenant?.id, (tenantId) => { chosenId.value = remembered(tenantId) }, { immediate: true })

  return { workspaces, current, choose }
})
