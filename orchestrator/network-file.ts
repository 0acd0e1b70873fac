/**
 * network.json in a run folder: everything needed to (re)start any process of
 * the run later (a storm's restarts, an injection, `patchday storm` from another
 * shell): the plan, what provisioning produced, and per-peer settings.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PeerConfig } from '../node/contract/config.ts'
import type { NetworkPlan, PeerPlan } from './network-plan.ts'
import { loginEnv, peerEnv, type Provisioned } from './provision.ts'
import { type RunDir, writeJsonAtomic } from './run-dir.ts'
import type { ProcessSpec } from './runtime/runtime.ts'
import { RuntimeError } from './errors.ts'

export interface NetworkFile {
  version: 1
  plan: NetworkPlan
  provisioned: Provisioned
  /** Settings for single peers on top of plan.settings (fault-model shares, injected capacity). */
  perPeer: Record<string, Partial<PeerConfig>>
}

const FILE = 'network.json'

export async function writeNetworkFile (run: RunDir, n: NetworkFile): Promise<void> {
  await writeJsonAtomic(join(run.root, FILE), n)
}

export async function readNetworkFile (run: RunDir): Promise<NetworkFile> {
  return JSON.parse(await readFile(join(run.root, FILE), 'utf8')) as NetworkFile
}

/** The process spec of any process of the run, by name. */
export function specFor (run: RunDir, n: NetworkFile, name: string): ProcessSpec {
  if (name === n.plan.login.name) return { name, env: loginEnv(run, n.plan) }
  const p: PeerPlan | undefined = n.plan.peers.find(x => x.name === name) ?? n.plan.reserve.find(x => x.name === name)
  if (p === undefined) throw new RuntimeError(`no process ${name} in run ${run.runId}`)
  return { name, env: peerEnv(run, n.plan, p, n.provisioned, n.perPeer[name] ?? {}) }
}
