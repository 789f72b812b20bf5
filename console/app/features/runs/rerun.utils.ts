// "Re-run from here": a new run that starts at one node with the input that node received
// in a finished run (`POST …/runs/{id}/rerun` with `{"from": "node"}`), and why it is not
// offered when it is not.

export interface RerunFromNodeContext {
  /** The signed-in role may start runs (builder and above). */
  canBuild: boolean
  /** The status of the run the node belongs to. */
  runStatus: string | null | undefined
  /** The node's state in that run (its newest attempt); null when it did not run at all. */
  nodeStatus: string | null | undefined
}

/** Why "Re-run from here" is disabled, or null when it may be used. */
export function rerunFromNodeBlock({ canBuild, runStatus, nodeStatus }: RerunFromNodeContext): string | null {
  if (!canBuild) return 'Viewers cannot start runs.'
  if (!nodeStatus || nodeStatus === 'skipped') return 'This node did not run, so there is no input to re-run it with.'
  if (!runStatus || runStatus === 'running') return 'The run is still going: re-run from a node once it has finished.'
  return null
}

export interface RerunFromNodeBody {
  from: 'node'
  node_id: string
  version: 'same' | 'latest'
}

/** The rerun request: the same graph, or the latest one (for a test run: the saved draft). */
export function rerunFromNodeBody(nodeId: string, version: 'same' | 'latest'): RerunFromNodeBody {
  return { from: 'node', node_id: nodeId, version }
}
