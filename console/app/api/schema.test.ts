// The console's API types are generated from docs/openapi.json; this fails when they are stale.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const CONSOLE = path.resolve(import.meta.dirname, '..', '..')

describe('generated API types', () => {
  it('match docs/openapi.json (run `make console-types` after changing the API)', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'stepline-schema-')), 'schema.d.ts')
    const cli = path.join(CONSOLE, 'node_modules', 'openapi-typescript', 'bin', 'cli.js')
    execFileSync(process.execPath, [cli, path.join(CONSOLE, '..', 'docs', 'openapi.json'), '-o', out], { stdio: 'pipe' })
    const fresh = readFileSync(out, 'utf8')
    const committed = readFileSync(path.join(CONSOLE, 'app', 'api', 'schema.d.ts'), 'utf8')
    expect(committed === fresh, 'console/app/api/schema.d.ts is stale: run `make console-types`').toBe(true)
  }, 60_000)
})
