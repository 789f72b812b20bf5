import type { RoleName } from '~/utils/roles'

declare module '#app' {
  interface PageMeta {
    /** Reachable without a session (sign-in and the mail-link pages). */
    public?: boolean
    /** The least role that may open the page; others are sent home. */
    minRole?: RoleName
  }
}

export {}
