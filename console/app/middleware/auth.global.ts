// Every page needs a session except the public ones; admin pages need an admin.
import { useSessionStore } from '~/stores/session'
import { roleAtLeast } from '~/utils/roles'

export default defineNuxtRouteMiddleware(async (to) => {
  const session = useSessionStore()
  await session.restore()
  if (to.meta.public) {
    if (session.status === 'signed-in' && to.path === '/sign-in') return navigateTo('/')
    return
  }
  if (session.status !== 'signed-in') {
    return navigateTo({ path: '/sign-in', query: to.fullPath !== '/' ? { next: to.fullPath } : {} })
  }
  if (to.meta.minRole && !roleAtLeast(session.role, to.meta.minRole)) {
    return navigateTo({ path: '/', query: { denied: to.path } })
  }
})
