// Starts `python -m devstack up --throwaway` (fresh PostgreSQL + AWS emulator on free
// ports, demo data seeded, the built console at /) on a free port, and stops it after.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import path from 'node:path'

const REPO = path.resolve(import.meta.dirname, '..', '..')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the stack exited (${child.exitCode}):\n${log()}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`the stack did not become healthy in 120 s:\n${log()}`)
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.STEPLINE_E2E_URL) return async () => {} // a stack given from outside
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const operatorToken = `op_${randomBytes(18).toString('base64url')}`
  const python = process.env.STEPLINE_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python')
  let output = ''
  const child = spawn(python, ['-m', 'devstack', 'up', '--throwaway', '--port', String(port), '--workers', '2'], {
    cwd: REPO,
    env: {
      ...process.env,
      PORT: String(port),
      PUBLIC_BASE_URL: url,
      OPERATOR_TOKEN: operatorToken,
      PASSWORD_PROFILE: 'fast',
      LOG_LEVEL: 'WARNING',
      DATABASE_URL: '', MIGRATION_DATABASE_URL: '', AWS_ENDPOINT_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  await waitHealthy(url, child, () => output.slice(-4000))
  process.env.STEPLINE_E2E_URL = url
  process.env.STEPLINE_OPERATOR_TOKEN = operatorToken
  return async () => {
    child.kill('SIGTERM')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve() }, 20_000)
      child.once('exit', () => { clearTimeout(timer); resolve() })
    })
  }
}
