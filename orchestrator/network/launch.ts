/**
 * Launching a run: folder, provisioning, run.json and network.json, then the
 * network through the runtime, watched until steady. Shared by `up` and `run`.
 */
import type { PeerConfig } from '../../node/contract/config.ts'
import { initialPeers, type NetworkPlan } from './plan.ts'
import { RunDir, setCurrentRun } from '../run/dir.ts'
import { provision } from './provision.ts'
import { startNetwork, describe } from './start.ts'
import { openRuntime } from '../runtime/index.ts'
import type { NetworkMode, RestartMode, Runtime, RuntimeKind } from '../runtime/runtime.ts'
import { openJournal, type Journal } from '../run/journal.ts'
import { HostMonitor } from '../runtime/host-monitor.ts'
import type { Progress } from '../progress.ts'
import { formatDuration } from '../units.ts'
import { stopRun } from './stop.ts'
import { allSpecs, specFor, writeNetworkFile, type NetworkFile } from './spec-file.ts'
import type { NetworkSummary } from '../analysis/state.ts'
import { InterruptedError } from '../errors.ts'

export interface LaunchArgs {
  runsDir: string
  runId: string
  plan: NetworkPlan
  perPeer: Record<string, Partial<PeerConfig>>
  steadyShare: number
  deadlineMs: number
  bootingMax: number
  keepOnFailure: boolean
  /** Spread the peers' first boots over this long (real ms). */
  rampUpMs?: number
  /** Where the processes run (default local). */
  runtime?: RuntimeKind
  /** Container runtimes: restart containers or the peer process inside them. */
  restartMode?: RestartMode
  /** Compose: the containers' network (default bridge). */
  network?: NetworkMode
  signal?: AbortSignal
}

export interface Launched {
  run: RunDir
  runtime: Runtime
  /** Ends the runtime's log collection (containers); call with the monitor's stop. */
  stopLogs: () => Promise<void>
  journal: Journal
  monitor: HostMonitor
  network: NetworkFile
  summary: NetworkSummary
  elapsedMs: number
}

/** Grace for processes stopped after a failed start-up. */
const FAILED_START_GRACE_MS = 3000

export function newRunId (seed: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${t}-${seed.slice(0, 12).replace(/[^A-Za-z0-9]/g, '')}`
}

/** Start a run; on failure everything started is stopped again (unless keepOnFailure). The host monitor keeps running: stop it. */
export async function launch (a: LaunchArgs, progress: Progress): Promise<Launched> {
  const { plan } = a
  const run = new RunDir(a.runsDir, a.runId)
  const kind = a.runtime ?? 'local'
  const runtime = await openRuntime(run, kind, a.restartMode, a.network)
  // Before anything is written: a refused run leaves no folder behind.
  await runtime.checkAvailable?.()
  const late = plan.peers.length - initialPeers(plan).length
  progress.line(`run ${a.runId}: ${plan.peers.length - late} peers${late > 0 ? ` (${late} more join later)` : ''}, ${plan.peers.filter(p => p.bootstrap).length} bootstrap supernodes, seed ${plan.seed}`)
  await run.create()
  const provisioned = await provision(run, plan, runtime)
  const network: NetworkFile = { version: 1, plan, provisioned, perPeer: a.perPeer }
  await writeNetworkFile(run, network)
  await run.writeMeta({
    version: 1,
    runId: a.runId,
    seed: plan.seed,
    runtime: runtime.name,
    restartMode: runtime.restartMode,
    ...(runtime.networkMode !== undefined ? { network: runtime.networkMode } : {}),
    createdAt: new Date().toISOString(),
    timeScale: plan.settings.timeScale ?? 1,
    peers: plan.peers.map(p => ({ name: p.name, bootstrap: p.bootstrap, capacityClass: p.capacityClass, ...(p.late === true ? { late: true } : {}) })),
    login: { name: plan.login.name, addr: provisioned.loginAddr }
  })
  const journal = openJournal(run.logFile('orchestrator'), a.runId)
  journal.event('net.up', { peers: plan.peers.length, seed: plan.seed })
  const monitor = new HostMonitor(journal)
  const logs = new AbortController()
  let collecting: Promise<void> = Promise.resolve()
  const stopLogs = async (): Promise<void> => { logs.abort(); await collecting }
  const t0 = Date.now()
  try {
    await runtime.prepare(allSpecs(run, network, runtime))
    monitor.start()
    collecting = runtime.collectLogs(logs.signal)
    const upOpts = { bootingMax: a.bootingMax, steadyShare: a.steadyShare, deadlineMs: a.deadlineMs, rampUpMs: a.rampUpMs ?? 0, ...(a.signal !== undefined ? { signal: a.signal } : {}) }
    const summary = await startNetwork(run, runtime, plan, name => specFor(run, network, runtime, name), upOpts, progress)
    const elapsedMs = Date.now() - t0
    journal.event('net.steady', { online: summary.online, peers: summary.peers, elapsedMs })
    // `current` moves only to a run that started: a failed `up` leaves `down` and `status` on the run they knew.
    await setCurrentRun(a.runsDir, a.runId)
    progress.line(`steady after ${formatDuration(elapsedMs)}: ${describe(summary)}`)
    return { run, runtime, journal, monitor, network, summary, elapsedMs, stopLogs }
  } catch (err) {
    monitor.stop()
    progress.done()
    await stopLogs()
    if (!a.keepOnFailure) {
      progress.line(`start-up failed; stopping what was started (logs stay in ${run.root})`)
      await stopRun(run, FAILED_START_GRACE_MS, runtime)
    } else {
      // Left running on purpose: a plain `down` (and `status`) must find it.
      await setCurrentRun(a.runsDir, a.runId)
      progress.line(`start-up failed; processes left running for inspection: 'patchday status', then 'patchday down' (run ${a.runId})`)
    }
    throw err
  }
}

/** SIGINT/SIGTERM abort the signal (reason: an InterruptedError) while `work` runs (and are released after). */
export async function interruptible<T> (work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController()
  const onSignal = (): void => { ctl.abort(new InterruptedError()) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await work(ctl.signal)
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}
