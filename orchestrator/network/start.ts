/**
 * Bringing a network up through a Runtime, and watching it become steady.
 * Order: login server, bootstrap supernodes, then every other peer, with at most
 * `bootingMax` processes booting at once (hundreds of Node processes starting
 * together would thrash a 2-core host for minutes). Peers that join later (a
 * scenario's `joins`, `late` in the plan) are not started here, and steady state
 * is judged on the peers that are.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { ProcessSpec, Runtime } from '../runtime/runtime.ts'
import { initialPeers, type NetworkPlan } from './plan.ts'
import type { RunDir } from '../run/dir.ts'
import { LogTailer } from '../logs/tail.ts'
import type { PeerEvent } from '../../node/contract/events.ts'
import { NetworkState, type NetworkSummary } from '../analysis/state.ts'
import { NotSteadyError, RuntimeError } from '../errors.ts'
import type { Progress } from '../progress.ts'
import { formatDuration } from '../units.ts'

export const POLL_MS = 250
/** How often start-up asks the runtime for processes that died before booting. */
const DEAD_CHECK_INTERVAL_MS = 2000

export interface UpOptions {
  /** Peers booting (spawned, no boot event yet) at once. */
  bootingMax: number
  /** Share of peers online that counts as steady. */
  steadyShare: number
  /** Give up after this long (real ms). */
  deadlineMs: number
  /** Spread the peers' first boots over this long (real ms; 0: as fast as the host allows). */
  rampUpMs?: number
  signal?: AbortSignal
}

/** Follows a run's logs and keeps the folded network state current. */
export class Watcher {
  readonly state = new NetworkState()
  readonly booted = new Set<string>()
  private readonly tailer: LogTailer

  constructor (run: RunDir) {
    this.tailer = new LogTailer(run.logsDir)
  }

  /** Fold what the logs gained since the last poll; returns those events. */
  async poll (): Promise<PeerEvent[]> {
    const fresh = await this.tailer.poll()
    for (const e of fresh) {
      this.state.apply(e)
      if (e.ev === 'boot') this.booted.add(e.peer)
    }
    return fresh
  }
}

export function describe (s: NetworkSummary): string {
  return `online ${s.online}/${s.peers}, attaching ${s.attaching}, booting ${s.booting}, offline ${s.offline}, supernodes ${s.supernodes}`
}

async function deadProcesses (runtime: Runtime, names: Set<string>): Promise<string[]> {
  return (await runtime.list()).filter(p => names.has(p.name) && !p.running).map(p => p.name)
}

export async function startNetwork (run: RunDir, runtime: Runtime, plan: NetworkPlan, specFor: (name: string) => ProcessSpec, opts: UpOptions, progress: Progress): Promise<NetworkSummary> {
  const t0 = Date.now()
  const watcher = new Watcher(run)
  const deadline = t0 + opts.deadlineMs
  const started = new Set<string>()
  const peers = initialPeers(plan)
  const check = async (): Promise<void> => {
    opts.signal?.throwIfAborted()
    if (Date.now() > deadline) throw new NotSteadyError(`not steady after ${formatDuration(opts.deadlineMs)}: ${describe(watcher.state.summary(peers.length))}`)
    await watcher.poll()
  }

  await runtime.start(specFor(plan.login.name))
  started.add(plan.login.name)
  while (!watcher.booted.has(plan.login.name)) {
    await check()
    const dead = await deadProcesses(runtime, new Set([plan.login.name]))
    if (dead.length > 0) throw new RuntimeError(`the login server exited during start-up: ${await runtime.explainExit(plan.login.name)}`)
    await sleep(POLL_MS)
  }
  progress.line(`login server up (${formatDuration(Date.now() - t0)})`)

  // Bootstrap supernodes first: everyone else's first boot depends on them.
  const order = [...peers.filter(p => p.bootstrap), ...peers.filter(p => !p.bootstrap)]
  let next = 0
  let lastDeadCheck = 0
  // A ramp spaces the non-bootstrap peers evenly, like users arriving over a morning.
  const gapMs = (opts.rampUpMs ?? 0) / Math.max(1, order.filter(p => !p.bootstrap).length)
  let nextAt = 0
  while (next < order.length) {
    await check()
    let booting = 0
    for (const name of started) if (!watcher.booted.has(name)) booting++
    while (booting < opts.bootingMax && next < order.length && Date.now() >= nextAt) {
      const p = order[next++]
      if (p === undefined) break
      await runtime.start(specFor(p.name))
      started.add(p.name)
      booting++
      if (!p.bootstrap) nextAt = Date.now() + gapMs
    }
    if (Date.now() - lastDeadCheck > DEAD_CHECK_INTERVAL_MS) {
      lastDeadCheck = Date.now()
      const dead = (await deadProcesses(runtime, started)).filter(n => !watcher.booted.has(n))
      if (dead.length > 0) throw new RuntimeError(`${dead.length} process(es) exited before booting (${dead.slice(0, 5).join(', ')}); ${dead[0] as string}: ${await runtime.explainExit(dead[0] as string)}`)
    }
    progress.update(`starting: spawned ${started.size - 1}/${peers.length}, ${describe(watcher.state.summary(peers.length))}`)
    await sleep(POLL_MS)
  }
  return await waitSteady(watcher, peers.length, opts.steadyShare, deadline, progress, opts.signal)
}

export async function waitSteady (watcher: Watcher, peers: number, share: number, deadline: number, progress: Progress, signal?: AbortSignal): Promise<NetworkSummary> {
  const want = Math.ceil(share * peers)
  for (;;) {
    signal?.throwIfAborted()
    await watcher.poll()
    const s = watcher.state.summary(peers)
    progress.update(`waiting for ${want}/${peers} online: ${describe(s)}`)
    if (s.online >= want) {
      progress.done()
      return s
    }
    if (Date.now() > deadline) {
      progress.done()
      throw new NotSteadyError(`not steady by the deadline: ${describe(s)} (wanted ${want} online)`)
    }
    await sleep(POLL_MS)
  }
}
