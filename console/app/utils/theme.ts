// The chosen theme is a display preference kept in localStorage (no credential is ever stored there).
export const THEME_KEY = 'stepline.theme'

export function initialTheme(): 'light' | 'dark' {
  if (typeof window === 'undefined') return 'light'
  const saved = window.localStorage.getItem(THEME_KEY)
  if (saved === 'light' || saved === 'dark') return saved
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}
