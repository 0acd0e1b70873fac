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
import { RuntimeError, UnreadableRecordError } from '../errors.ts'
import { parseRecord } from '../run/record.ts'
import { z } from 'zod'

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

/** Only what every reader relies on: the rest is the orchestrator's own writing. */
const networkFileShape = z.looseObject({
  version: z.literal(1),
  plan: z.looseObject({ peers: z.array(z.looseObject({ name: z.string() })), reserve: z.array(z.looseObject({ name: z.string() })) }),
  provisioned: z.looseObject({ loginAddr: z.string() }),
  perPeer: z.record(z.string(), z.unknown())
})

/** network.json, or an error naming the file and what is wrong (storm and inject need it; `down` does not). */
export async function readNetworkFile (run: RunDir): Promise<NetworkFile> {
  const path = join(run.root, FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UnreadableRecordError(`${path} is ${code === 'ENOENT' ? 'missing' : `unreadable (${code ?? (err as Error).message})`}: without it this run's processes cannot be restarted (storm, inject); \`patchday down --run ${run.runId}\` still stops it`)
  }
  const r = parseRecord(text, networkFileShape, 'a network record')
  if (!r.ok) throw new UnreadableRecordError(`${path} is ${r.problem}: without it this run's processes cannot be restarted (storm, inject); \`patchday down --run ${run.runId}\` still stops it`)
  return r.value as unknown as NetworkFile
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
