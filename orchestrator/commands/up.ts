/** `patchday up`: provision a run, start the login server and N peers, return once steady. */
import { randomBytes } from 'node:crypto'
import { newSeed } from '../../node/contract/rng.ts'
import type { PeerConfig } from '../../node/contract/config.ts'
import { planNetwork, type NetworkOptions } from '../network/plan.ts'
import { Progress } from '../progress.ts'
import { launch, interruptible, newRunId } from '../network/launch.ts'
import type { NetworkSummary } from '../analysis/state.ts'
import type { RuntimeKind } from '../runtime/runtime.ts'

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
  runtime?: RuntimeKind
}

export interface UpResult { runId: string, seed: string, summary: NetworkSummary, elapsedMs: number }

export async function up (a: UpArgs): Promise<UpResult> {
  const seed = a.seed ?? newSeed(() => randomBytes(8))
  const opts: NetworkOptions = { peers: a.peers, seed, settings: a.settings }
  if (a.bootstrap !== undefined) opts.bootstrap = a.bootstrap
  if (a.capableShare !== undefined) opts.capableShare = a.capableShare
  const plan = planNetwork(opts)
  const runId = a.runId ?? newRunId(seed)
  const progress = new Progress({ quiet: a.json })
  return await interruptible(async (signal) => {
    const l = await launch({ runsDir: a.runsDir, runId, plan, perPeer: {}, steadyShare: a.steadyShare, deadlineMs: a.deadlineMs, bootingMax: a.bootingMax, keepOnFailure: a.keepOnFailure, ...(a.runtime !== undefined ? { runtime: a.runtime } : {}), signal }, progress)
    // `up` returns while the network runs on; host samples are taken while an orchestrator watches (run, storm).
    l.monitor.stop()
    await l.stopLogs()
    return { runId, seed, summary: l.summary, elapsedMs: l.elapsedMs }
  })
}
