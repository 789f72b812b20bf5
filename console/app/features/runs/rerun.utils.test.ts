import { describe, expect, it } from 'vitest'
import { rerunFromNodeBlock, rerunFromNodeBody } from './rerun.utils'

describe('re-run from a node', () => {
  it('is offered on a node that ran in a finished run, to a builder', () => {
    for (const runStatus of ['success', 'failed', 'canceled']) {
      for (const nodeStatus of ['success', 'failed', 'canceled', 'queued']) {
        expect(rerunFromNodeBlock({ canBuild: true, runStatus, nodeStatus })).toBeNull()
      }
    }
  })
  it('explains why not: a viewer, a node that did not run, a run still going', () => {
    expect(rerunFromNodeBlock({ canBuild: false, runStatus: 'success', nodeStatus: 'success' })).toMatch(/^Viewers/)
    expect(rerunFromNodeBlock({ canBuild: true, runStatus: 'success', nodeStatus: 'skipped' })).toMatch(/did not run/)
    expect(rerunFromNodeBlock({ canBuild: true, runStatus: 'success', nodeStatus: null })).toMatch(/did not run/)
    expect(rerunFromNodeBlock({ canBuild: true, runStatus: 'running', nodeStatus: 'success' })).toMatch(/still going/)
  })
  it('asks for the node on the chosen version', () => {
    expect(rerunFromNodeBody('big', 'latest')).toEqual({ from: 'node', node_id: 'big', version: 'latest' })
  })
})
