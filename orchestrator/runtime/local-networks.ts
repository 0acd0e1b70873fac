/**
 * Local networks running on this machine, whatever runs folder or checkout
 * started them: every local run binds the same loopback addresses
 * (local-addresses.ts), so there is room for one at a time, and `up` must know
 * about any other before it writes anything. Found in /proc by the run folder
 * the local runtime puts in every process's environment.
 */
import { createServer } from 'node:net'
import { basename, dirname } from 'node:path'
import { NetworkRunningError } from '../errors.ts'
import { LOGIN_IP, LOGIN_PORT } from './local-addresses.ts'
import { scanRunProcesses, type RunProcess } from './local-procs.ts'

/** One local network with processes running. */
export interface LocalNetwork {
  runId: string
  /** Its run folder (runs/<id>). */
  runDir: string
  /** Processes running, the login server included. */
  processes: number
  /** Peers (not the login server) running. */
  peers: number
  login: boolean
  pids: number[]
}

/** Processes grouped by run (pure): those the local runtime started (with a run folder), by run folder, sorted by run id. */
export function groupLocalNetworks (procs: readonly RunProcess[]): LocalNetwork[] {
  const byDir = new Map<string, LocalNetwork>()
  for (const p of procs) {
    if (p.runDir === null) continue // a container's process, or one started by hand: not on our loopback addresses
    const n = byDir.get(p.runDir) ?? { runId: p.runId, runDir: p.runDir, processes: 0, peers: 0, login: false, pids: [] }
    n.processes++
    n.pids.push(p.pid)
    if (p.role === 'login') n.login = true
    else n.peers++
    byDir.set(p.runDir, n)
  }
  return [...byDir.values()].sort((a, b) => a.runId.localeCompare(b.runId) || a.runDir.localeCompare(b.runDir))
}

export async function localNetworks (): Promise<LocalNetwork[]> {
  return groupLocalNetworks(await scanRunProcesses())
}

/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
function shellWord (s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
}

/** The command that stops `n`, as the user would type it. */
export function downCommandFor (n: Pick<LocalNetwork, 'runId' | 'runDir'>): string {
  return `patchday --runs-dir ${shellWord(dirname(n.runDir))} down --run ${shellWord(basename(n.runDir))}`
}

/** The refusal of `up` over a running network (pure): null when no other network runs. */
export function refusal (others: readonly LocalNetwork[]): NetworkRunningError | null {
  const first = others[0]
  if (first === undefined) return null
  const more = others.length > 1 ? ` (and ${others.length - 1} other run(s): see 'patchday ps')` : ''
  return new NetworkRunningError(`a local network is already running on this machine: run ${first.runId} (${first.processes} processes, folder ${first.runDir})${more}. ` +
    `Local runs share the loopback addresses (${LOGIN_IP}:${LOGIN_PORT} and up), so only one runs at a time: stop it first with '${downCommandFor(first)}'`)
}

/** Whether something listens on host:port already (any owner): a bind that fails with EADDRINUSE. */
export async function addressInUse (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EADDRINUSE') resolve(true); else reject(err) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve(false) }) })
  })
}

/**
 * Refuse (NetworkRunningError, exit 2) to start a local run while a local
 * network (another, or this very run id) runs on this machine, or while the
 * login address is taken by anything else.
 */
export async function checkLoopbackFree (): Promise<void> {
  const refused = refusal(await localNetworks())
  if (refused !== null) throw refused
  if (await addressInUse(LOGIN_IP, LOGIN_PORT)) {
    throw new NetworkRunningError(`${LOGIN_IP}:${LOGIN_PORT}, the login server's address, is in use by a process that is not a local patchday run of this user (an older patchday, another user's run, another program): find it with 'ss -ltnp' and stop it`)
  }
}
