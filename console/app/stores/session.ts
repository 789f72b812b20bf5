// The signed-in session. The access token lives in memory only; the refresh token is
// an httpOnly cookie the page cannot read (the API sets it when asked with
// X-Session-Transport: cookie); refresh/logout by cookie carry the CSRF header.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError } from '~/api/errors'
import { makeClient } from '~/api/client'
import { bindSession } from '~/api/transport'
import type { BodyOf, ResponseOf } from '~/api/types'
import { roleAtLeast, type RoleName } from '~/utils/roles'

export type Me = ResponseOf<'/api/me', 'get'>
type Issued = ResponseOf<'/auth/login', 'post'>

export const CSRF_COOKIE = 'stepline_csrf'
const COOKIE_SESSION = { 'X-Session-Transport': 'cookie' } as const
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000
/** How often an open console checks its session is still alive (and on focus). */
export const SESSION_CHECK_MS = 20_000

export function readCsrf(doc: Document | undefined = globalThis.document): string {
  const hit = (doc?.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${CSRF_COOKIE}=`))
  return hit ? decodeURIComponent(hit.slice(CSRF_COOKIE.length + 1)) : ''
}

export const useSessionStore = defineStore('session', () => {
  const api = makeClient()
  const accessToken = ref<string | null>(null)
  const expiresAt = ref(0)
  const me = ref<Me | null>(null)
  const status = ref<'unknown' | 'signed-in' | 'signed-out'>('unknown')
  /** Why the last session ended (shown on the sign-in page). */
  const endedReason = ref<string | null>(null)
  let refreshTimer: ReturnType<typeof setTimeout> | undefined
  let inflight: Promise<boolean> | null = null

  const role = computed<RoleName | null>(() => (me.value?.role as RoleName | undefined) ?? null)
  const tenant = computed(() => me.value?.tenant ?? null)
  const tenants = computed(() => me.value?.tenants ?? [])
  const user = computed(() => me.value?.user ?? null)
  const isAdmin = computed(() => roleAtLeast(role.value, 'admin'))
  const canBuild = computed(() => roleAtLeast(role.value, 'builder'))

  function accept(issued: { access_token: string; expires_in: number }): void {
    accessToken.value = issued.access_token
    expiresAt.value = Date.now() + issued.expires_in * 1000
    clearTimeout(refreshTimer)
    const wait = Math.max(5_000, issued.expires_in * 1000 - REFRESH_MARGIN_MS)
    refreshTimer = setTimeout(() => { void refresh() }, wait)
  }

  async function loadMe(): Promise<void> {
    const { data, error, response } = await api.GET('/api/me')
    if (error || !data) throw new ApiError(response.status, error)
    me.value = data as Me
    status.value = 'signed-in'
  }

  async function signIn(email: string, password: string, tenantId?: string): Promise<void> {
    const body = { email, password, ...(tenantId ? { tenant_id: tenantId } : {}) } as BodyOf<'/auth/login', 'post'>
    const { data, error, response } = await api.POST('/auth/login', { body, headers: COOKIE_SESSION })
    if (error || !data) throw new ApiError(response.status, error)
    endedReason.value = null
    accept(data as Issued)
    await loadMe()
  }

  /** Adopt tokens issued by another route (accept invite, change password, switch tenant). */
  async function adopt(issued: unknown): Promise<void> {
    endedReason.value = null
    accept(issued as Issued)
    await loadMe()
  }

  async function doRefresh(): Promise<boolean> {
    const csrf = readCsrf()
    if (!csrf) return false
    const response = await fetch('/auth/refresh', {
      method: 'POST', credentials: 'same-origin',
      headers: { ...COOKIE_SESSION, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
    }).catch(() => null)
    if (!response) return Boolean(accessToken.value) // offline: keep what we have, try later
    const body: unknown = await response.json().catch(() => null)
    if (!response.ok) {
      // There was a session (the CSRF cookie says so) and the API ended it: say why on the sign-in page.
      if (status.value !== 'signed-out') ended(new ApiError(response.status, body).message)
      return false
    }
    accept(body as Issued)
    return true
  }

  /** Single flight: concurrent 401s share one refresh. */
  function refresh(): Promise<boolean> {
    inflight ??= doRefresh().finally(() => { inflight = null })
    return inflight
  }

  /** On start: resume the session from the cookie, if there is one. */
  async function restore(): Promise<void> {
    if (status.value !== 'unknown') return
    try {
      if (await refresh()) {
        await loadMe()
        return
      }
    } catch {
      // fall through: signed out
    }
    status.value = 'signed-out'
  }

  /** An open console checks its session now and then (a reset or password change elsewhere ends it). */
  async function check(): Promise<void> {
    if (status.value !== 'signed-in') return
    try {
      await loadMe()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && status.value === 'signed-in') {
        ended(err.message)
      }
    }
  }

  function clear(): void {
    clearTimeout(refreshTimer)
    accessToken.value = null
    expiresAt.value = 0
    me.value = null
    status.value = 'signed-out'
  }

  function ended(reason: string): void {
    clear()
    endedReason.value = reason || 'Your session has ended. Sign in again.'
  }

  async function signOut(): Promise<void> {
    const csrf = readCsrf()
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (accessToken.value) headers.Authorization = `Bearer ${accessToken.value}`
    else if (csrf) headers['X-CSRF-Token'] = csrf
    await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin', headers }).catch(() => null)
    clear()
    endedReason.value = null
  }

  async function switchTenant(tenantId: string): Promise<void> {
    const { data, error, response } = await api.POST('/auth/switch', {
      body: { tenant_id: tenantId }, headers: COOKIE_SESSION,
    })
    if (error || !data) throw new ApiError(response.status, error)
    await adopt(data)
  }

  bindSession({ accessToken: () => accessToken.value, refresh, ended })

  return {
    accessToken, expiresAt, me, status, endedReason, role, tenant, tenants, user, isAdmin, canBuild,
    signIn, adopt, refresh, restore, check, signOut, switchTenant, ended, clear, loadMe,
  }
})
