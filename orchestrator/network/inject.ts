/**
 * Injection of dedicated high-capacity supernodes (Skype's recovery in December
 * 2010: "mega-supernodes" on its own servers). They come from the run's reserve
 * (provisioned at start), boot as supernodes with `slots` client slots and a
 * request budget scaled to match, and never self-protect or crash.
 */
import type { PeerConfig } from '../../node/contract/config.ts'
import { configToEnv, defaultSetting } from '../../node/contract/config.ts'
import { runningNames, type Runtime } from '../runtime/runtime.ts'
import type { RunDir } from '../run/dir.ts'
import { readNetworkFile, specFor, writeNetworkFile, type NetworkFile } from './spec-file.ts'
import { reserveName, type PeerPlan } from './plan.ts'
import type { Journal } from '../run/journal.ts'
import { UsageError } from '../errors.ts'

export async function injectSupernodes (run: RunDir, runtime: Runtime, journal: Journal, count: number, slots: number): Promise<string[]> {
  const network = await readNetworkFile(run)
  const running = await runningNames(runtime)
  const started = new Set(Object.keys(network.perPeer).filter(n => n.startsWith('mega-')))
  const extra = megaSettings(network.plan.settings, slots)
  const free = network.plan.reserve.filter(p => !running.has(p.name) && !started.has(p.name))
  if (free.length < count && runtime.addLike !== undefined) free.push(...await addToReserve(network, runtime, running, count - free.length, extra))
  if (free.length < count) throw new UsageError(`only ${free.length} dedicated supernodes left in this run's reserve of ${network.plan.reserve.length}`)
  const names = free.slice(0, count).map(p => p.name)
  for (const name of names) network.perPeer[name] = extra
  await writeNetworkFile(run, network)
  for (const name of names) await runtime.start(specFor(run, network, runtime, name))
  journal.event('inject', { names, slots })
  return names
}

/** A dedicated supernode's settings: `slots` client slots, a request budget scaled to match, no self-protection, no crashes. */
function megaSettings (base: Partial<PeerConfig>, slots: number): Partial<PeerConfig> {
  const baseSlots = base.slotsMax ?? defaultSetting('slotsMax')
  const baseRate = base.snRequestRatePerS ?? defaultSetting('snRequestRatePerS')
  const scale = Math.max(1, slots / baseSlots)
  const extra: Partial<PeerConfig> = {
    slotsMax: slots,
    snRequestRatePerS: baseRate * scale,
    snRequestBurst: Math.ceil((base.snRequestBurst ?? defaultSetting('snRequestBurst')) * scale),
    snOverloadThreshold: 0,
    crashReplyThresholdMs: 0
  }
  return extra
}

/**
 * A network adopted from `docker compose up` has no reserve: its runtime adds the
 * dedicated supernodes now, each a copy of a running peer with the reserve's
 * settings (a capable, reachable supernode from boot) and `extra`, under the
 * reserve's names, into network.plan.reserve (the caller writes network.json).
 */
async function addToReserve (network: NetworkFile, runtime: Runtime, running: Set<string>, count: number, extra: Partial<PeerConfig>): Promise<PeerPlan[]> {
  const like = network.plan.peers.find(p => !p.bootstrap && running.has(p.name)) ?? network.plan.peers.find(p => running.has(p.name))
  if (like === undefined) return []
  const taken = new Set([...network.plan.peers, ...network.plan.reserve].map(p => p.name))
  const added: PeerPlan[] = []
  for (let i = 1; added.length < count; i++) {
    const p: PeerPlan = { name: reserveName(i), index: i, bootstrap: true, capacityClass: 3, reachable: true }
    if (taken.has(p.name)) continue
    // False: this run's reserve was provisioned at its start, and it is what it is.
    if (await runtime.addLike?.(p.name, like.name, configToEnv({ bootstrap: p.bootstrap, capacityClass: p.capacityClass, reachable: p.reachable, ...extra })) !== true) break
    network.plan.reserve.push(p)
    added.push(p)
  }
  return added
}
