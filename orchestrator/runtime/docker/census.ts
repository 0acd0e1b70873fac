/**
 * Container networks running on this machine's Docker engine, found by the
 * label every patchday container carries (whatever runs folder started them),
 * for `patchday ps`.
 */
import type Docker from 'dockerode'
import { NAME_LABEL, ROLE_LABEL, RUN_LABEL } from '../compose-file.ts'

export interface ContainerNetwork {
  runId: string
  runtime: 'compose' | 'swarm'
  /** The compose project's folder (a run folder for runs that `up` started); null for a stack. */
  runDir: string | null
  processes: number
  peers: number
  login: boolean
}

/** What `ps` needs of a container listing entry. */
export interface ContainerLabels { Labels: Record<string, string> }

/** Running patchday containers grouped by run (pure). */
export function groupContainerNetworks (containers: readonly ContainerLabels[]): ContainerNetwork[] {
  const byRun = new Map<string, ContainerNetwork>()
  for (const c of containers) {
    const runId = c.Labels[RUN_LABEL]
    if (runId === undefined) continue
    const n = byRun.get(runId) ?? {
      runId,
      runtime: c.Labels['com.docker.stack.namespace'] !== undefined ? 'swarm' : 'compose',
      runDir: c.Labels['com.docker.compose.project.working_dir'] ?? null,
      processes: 0,
      peers: 0,
      login: false
    }
    n.processes++
    if (c.Labels[ROLE_LABEL] === 'login' || c.Labels[NAME_LABEL] === 'login') n.login = true
    else n.peers++
    byRun.set(runId, n)
  }
  return [...byRun.values()].sort((a, b) => a.runId.localeCompare(b.runId))
}

export async function containerNetworks (docker: Docker): Promise<ContainerNetwork[]> {
  const list = await docker.listContainers({ filters: { label: [RUN_LABEL], status: ['running'] } })
  return groupContainerNetworks(list)
}
