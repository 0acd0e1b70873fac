/**
 * One storm against a running network: targets resolved against the roles the
 * logs show now, planned from the seed, scaled to real time, executed through
 * the runtime and journalled. Used by `patchday storm` and by scenario runs.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { runningNames, type Runtime } from '../runtime/runtime.ts'
import type { RunDir } from '../run/dir.ts'
import type { Journal } from '../run/journal.ts'
import type { NetworkFile } from '../network/spec-file.ts'
import { specFor } from '../network/spec-file.ts'
import type { NetworkState } from '../analysis/state.ts'
import { planStorm, scalePlan, summarizePlan, type StormSpec, type StormPlan } from './plan.ts'
import { executeStorm, type StormResult } from './execute.ts'
import type { TargetPeer } from './targets.ts'
import type { Progress } from '../progress.ts'

/** How long the engine's events are still journalled after a storm's last op. */
const EVENTS_TAIL_MS = 1000

/**
 * Peers that can be hit: running ones, with the role their latest log line shows, except
 * `notJoined`: late peers (a scenario's `joins`) whose join has not started them yet. A
 * storm must not touch those: its stop would find nothing, and its restart would make
 * the peer join early.
 */
export function stormablePeers (state: NetworkState, running: ReadonlySet<string>, notJoined: ReadonlySet<string> = new Set()): TargetPeer[] {
  const out: TargetPeer[] = []
  for (const s of state.peers.values()) {
    if (notJoined.has(s.peer)) continue
    if (running.has(s.peer) && (s.role === 'client' || s.role === 'supernode')) out.push({ name: s.peer, role: s.role })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

export interface StormRunArgs {
  run: RunDir
  runtime: Runtime
  journal: Journal
  network: NetworkFile
  state: NetworkState
  spec: StormSpec
  seed: string
  timeScale: number
  progress: Progress
  /** Late peers not started yet by their join (read when the storm is planned). */
  notJoined?: ReadonlySet<string>
  signal?: AbortSignal
}

export async function planAgainst (a: Pick<StormRunArgs, 'runtime' | 'state' | 'spec' | 'seed' | 'notJoined'>): Promise<StormPlan> {
  const running = await runningNames(a.runtime)
  return planStorm(a.seed, a.spec, stormablePeers(a.state, running, a.notJoined))
}

export async function runStorm (a: StormRunArgs): Promise<StormResult> {
  const plan = await planAgainst(a)
  for (const line of summarizePlan(plan)) a.progress.line(`  ${line}`)
  const real = scalePlan(plan, a.timeScale)
  // The engine's own times of the restarts, beside the journal's (container runtimes).
  const watching = new AbortController()
  const watched = a.runtime.watchEvents?.(a.journal, watching.signal) ?? Promise.resolve()
  try {
    return await executeStorm(real, a.runtime, a.journal, {
      specFor: name => specFor(a.run, a.network, a.runtime, name),
      restartMode: a.runtime.restartMode,
    ...(a.signal !== undefined ? { signal: a.signal } : {}),
      onProgress: (p) => { a.progress.update(`storm ${plan.stormId}: ${p.done}/${p.total} ops (${p.ok} ok, ${p.failed} failed)`) }
    })
  } finally {
    // The last starts' events arrive just after their calls return.
    if (a.runtime.watchEvents !== undefined) await sleep(EVENTS_TAIL_MS)
    watching.abort()
    await watched
  }
}
