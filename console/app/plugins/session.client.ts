// When the session ends (sign-out elsewhere, password change, platform reset), the
// console goes to the sign-in page, which says why. An open console checks its session
// every SESSION_CHECK_MS and whenever the window regains focus.
import { watch } from 'vue'
import { SESSION_CHECK_MS, useSessionStore } from '~/stores/session'

export default defineNuxtPlugin(() => {
  const session = useSessionStore()
  const router = useRouter()
  watch(() => session.status, (now, before) => {
    const route = router.currentRoute.value
    if (now === 'signed-out' && before === 'signed-in' && !route.meta.public) {
      void router.replace({ path: '/sign-in', query: route.fullPath !== '/' ? { next: route.fullPath } : {} })
    }
  })
  const check = () => { void session.check() }
  setInterval(check, SESSION_CHECK_MS)
  window.addEventListener('focus', check)
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') check() })
})
