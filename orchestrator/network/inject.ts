/**
 * Injection of dedicated high-capacity supernodes (Skype's recovery in December
 * 2010: "mega-supernodes" on its own servers). They come from the run's reserve
 * (provisioned at start), boot as supernodes with `slots` client slots and a
 * request budget scaled to match, and never self-protect or crash.
 */
import type { PeerConfig } from '../../node/contract/config.ts'
import { defaultSetting } from '../../node/contract/config.ts'
import { runningNames, type Runtime } from '../runtime/runtime.ts'
import type { RunDir } from '../run/dir.ts'
import { readNetworkFile, specFor, writeNetworkFile } from './spec-file.ts'
import type { Journal } from '../run/journal.ts'
import { UsageError } from '../errors.ts'

export async function injectSupernodes (run: RunDir, runtime: Runtime, journal: Journal, count: number, slots: number): Promise<string[]> {
  const network = await readNetworkFile(run)
  const running = await runningNames(runtime)
  const started = new Set(Object.keys(network.perPeer).filter(n => n.startsWith('mega-')))
  const free = network.plan.reserve.filter(p => !running.has(p.name) && !started.has(p.name))
  if (free.length < count) throw new UsageError(`only ${free.length} dedicated supernodes left in this run's reserve of ${network.plan.reserve.length}`)
  const base = network.plan.settings
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
  const names = free.slice(0, count).map(p => p.name)
  for (const name of names) network.perPeer[name] = extra
  await writeNetworkFile(run, network)
  for (const name of names) await runtime.start(specFor(run, network, runtime, name))
  journal.event('inject', { names, slots })
  return names
}
