import { describe, expect, it } from 'vitest'
import { readCsrf } from './session'

describe('readCsrf', () => {
  it('reads the CSRF cookie (the only session cookie a page can see)', () => {
    expect(readCsrf({ cookie: 'theme=dark; stepline_csrf=abc%2D123; other=1' } as Document)).toBe('abc-123')
    expect(readCsrf({ cookie: 'theme=dark' } as Document)).toBe('')
    expect(readCsrf(undefined)).toBe('')
  })
})
