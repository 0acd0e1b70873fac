/**
 * network.json in a run folder: everything needed to (re)start any process of
 * the run later (a storm's restarts, an injection, `patchday storm` from another
 * shell): the plan, what provisioning produced, and per-peer settings.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { configToEnv, type PeerConfig } from '../../node/contract/config.ts'
import { endpointRequest, type NetworkPlan, type PeerPlan } from './plan.ts'
import { loginSettings, peerSettings, type Provisioned } from './provision.ts'
import { type RunDir, writeJsonAtomic } from '../run/dir.ts'
import type { ProcessSpec, Runtime } from '../runtime/runtime.ts'
import { RuntimeError } from '../errors.ts'

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

/** The process spec of any process of the run, by name: its settings plus the runtime's wiring. */
export function specFor (run: RunDir, n: NetworkFile, runtime: Pick<Runtime, 'wiring'>, name: string): ProcessSpec {
  const req = endpointRequest(n.plan, name)
  if (req === undefined) throw new RuntimeError(`no process ${name} in run ${run.runId}`)
  if (req.group === 'login') return { name, role: 'login', env: { ...configToEnv(loginSettings(run, n.plan, n.provisioned)), ...runtime.wiring(req) } }
  const p: PeerPlan | undefined = n.plan.peers.find(x => x.name === name) ?? n.plan.reserve.find(x => x.name === name)
  if (p === undefined) throw new RuntimeError(`no process ${name} in run ${run.runId}`)
  const role = req.group === 'reserve' ? 'reserve' : p.bootstrap ? 'bootstrap' : 'peer'
  return { name, role, env: { ...configToEnv(peerSettings(run, n.plan, p, n.provisioned, n.perPeer[name] ?? {})), ...runtime.wiring(req) } }
}

/** Every process the run may start (the login server, the peers, the reserve), for a runtime's prepare step. */
export function allSpecs (run: RunDir, n: NetworkFile, runtime: Pick<Runtime, 'wiring'>): ProcessSpec[] {
  return [n.plan.login.name, ...n.plan.peers.map(p => p.name), ...n.plan.reserve.map(p => p.name)].map(name => specFor(run, n, runtime, name))
}
