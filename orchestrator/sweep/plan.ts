/**
 * A sweep's plan before anything runs (pure), for `patchday check`: the storm shares,
 * the load values with what each one sets in its cells (peers.count, a setting, or for
 * an offered load the loginServiceMs that realises it), the offered load each cell puts
 * on the login server, and the runs in all.
 */
import type { PeerConfig } from '../../node/contract/config.ts'
import type { LoadKey, Scenario } from '../scenario/schema.ts'
import { formatSettings, loadSettings, sweepCell } from '../scenario/compile.ts'
import { arrivalRatePerS, demandOf, loginCapacityPerS, offeredLoadOf } from '../scenario/offered-load.ts'
import { loadAxisLabel } from './axis.ts'
import { formatSignificant as num } from '../units.ts'

export interface LoadPlan {
  value: number
  /** What the value sets in its cells ({} for the peers axis: it sets peers.count). */
  settings: Partial<PeerConfig>
  peers: number
  /** Logins per emulated second during the ramp-up (null: no ramp-up), the login capacity, and their ratio. */
  arrivalsPerS: number | null
  capacityPerS: number
  offeredLoad: number | null
}

export interface SweepPlan {
  storm: string
  stormShares: number[]
  loadKey: LoadKey
  loadLabel: string
  loads: LoadPlan[]
  trials: number
  /** Runs of the grid (shares x loads x trials). */
  runs: number
}

/** Null for a scenario without a sweep. */
export function planSweep (s: Scenario, seed: string): SweepPlan | null {
  const sweep = s.sweep
  if (sweep === undefined) return null
  const share = sweep.stormShares[0] ?? 0
  const loads = sweep.load.values.map(value => {
    const cell = sweepCell(s, seed, share, value, 0).scenario
    const demand = demandOf(cell)
    const settings = loadSettings(s, sweep.load.key, value)
    return { value, settings, peers: cell.peers.count, arrivalsPerS: arrivalRatePerS(demand), capacityPerS: loginCapacityPerS(demand), offeredLoad: offeredLoadOf(demand) }
  })
  return {
    storm: sweep.storm,
    stormShares: sweep.stormShares,
    loadKey: sweep.load.key,
    loadLabel: loadAxisLabel(sweep.load.key),
    loads,
    trials: sweep.trials,
    runs: sweep.stormShares.length * sweep.load.values.length * sweep.trials
  }
}


export function formatSweepPlan (p: SweepPlan): string {
  const head = `sweep: storm ${p.storm} at shares ${p.stormShares.join(', ')} x ${p.loadLabel} ${p.loads.map(l => l.value).join(', ')}; ` +
    `${p.trials} trial${p.trials === 1 ? '' : 's'} per cell: ${p.runs} runs`
  const lines = p.loads.map(l => {
    const sets = p.loadKey === 'peers' ? `peers.count=${l.peers}` : formatSettings(l.settings)
    const load = l.offeredLoad === null || l.arrivalsPerS === null
      ? 'no ramp-up: no offered load'
      : `offered load ${num(l.offeredLoad)} (${num(l.arrivalsPerS)} arrivals/s, login capacity ${num(l.capacityPerS)}/s)`
    return `  ${p.loadKey}=${l.value}: ${sets}; ${load}`
  })
  return [head, ...lines].join('\n')
}
