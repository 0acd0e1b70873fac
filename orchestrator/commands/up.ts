/** `patchday up`: provision a run, start the login server and N peers, return once steady. */
import { randomBytes } from 'node:crypto'
import { newSeed } from '../../node/contract/rng.ts'
import type { PeerConfig } from '../../node/contract/config.ts'
import { planNetwork, type NetworkOptions } from '../network-plan.ts'
import { RunDir, setCurrentRun } from '../run-dir.ts'
import { provision } from '../provision.ts'
import { startNetwork, describe } from '../network.ts'
import { LocalRuntime } from '../runtime/local.ts'
import { openJournal } from '../journal.ts'
import { HostMonitor } from '../host-monitor.ts'
import { Progress } from '../progress.ts'
import { formatDuration } from '../units.ts'
import { stopRun } from './down.ts'
import type { NetworkSummary } from '../analysis/state.ts'

export interface UpArgs {
  runsDir: string
  peers: number
  seed?: string
  runId?: string
  bootstrap?: number
  capableShare?: number
  settings: Partial<PeerConfig>
  steadyShare: number
  deadlineMs: number
  bootingMax: number
  keepOnFailure: boolean
  json: boolean
}

export interface UpResult { runId: string, seed: string, summary: NetworkSummary, elapsedMs: number }

export function newRunId (seed: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${t}-${seed.slice(0, 6)}`
}

export async function up (a: UpArgs): Promise<UpResult> {
  const seed = a.seed ?? newSeed(() => randomBytes(8))
  const opts: NetworkOptions = { peers: a.peers, seed, settings: a.settings }
  if (a.bootstrap !== undefined) opts.bootstrap = a.bootstrap
  if (a.capableShare !== undefined) opts.capableShare = a.capableShare
  const plan = planNetwork(opts)
  const runId = a.runId ?? newRunId(seed)
  const run = new RunDir(a.runsDir, runId)
  const progress = new Progress({ quiet: a.json })
  progress.line(`run ${runId}: ${a.peers} peers, ${plan.peers.filter(p => p.bootstrap).length} bootstrap supernodes, seed ${seed}`)
  await run.create()
  await setCurrentRun(a.runsDir, runId)
  const runtime = new LocalRuntime(run)
  const prov = await provision(run, plan)
  await run.writeMeta({
    version: 1,
    runId,
    seed,
    runtime: runtime.name,
    createdAt: new Date().toISOString(),
    timeScale: plan.settings.timeScale ?? 1,
    peers: plan.peers.map(p => ({ name: p.name, ip: p.ip, bootstrap: p.bootstrap, capacityClass: p.capacityClass })),
    login: { name: plan.login.name, addr: prov.loginAddr }
  })
  const journal = openJournal(run.logFile('orchestrator'), runId)
  journal.event('net.up', { peers: a.peers, seed })
  const monitor = new HostMonitor(journal)
  monitor.start()
  const t0 = Date.now()
  const interrupted = new AbortController()
  const onSignal = (): void => { interrupted.abort(new Error('interrupted')) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const summary = await startNetwork(run, runtime, plan, prov, { bootingMax: a.bootingMax, steadyShare: a.steadyShare, deadlineMs: a.deadlineMs, signal: interrupted.signal }, progress)
    const elapsedMs = Date.now() - t0
    journal.event('net.steady', { online: summary.online, peers: summary.peers, elapsedMs })
    progress.line(`steady after ${formatDuration(elapsedMs)}: ${describe(summary)}`)
    return { runId, seed, summary, elapsedMs }
  } catch (err) {
    progress.done()
    if (!a.keepOnFailure) {
      progress.line(`start-up failed; stopping what was started (logs stay in ${run.root})`)
      await stopRun(run, 3000)
    }
    throw err
  } finally {
    monitor.stop()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}
