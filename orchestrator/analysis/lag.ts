/**
 * Runtime lag: did the runtime deliver the storm that was planned? Every storm
 * op is journalled with how late it was invoked; a container runtime restarts
 * far slower than a process (a few container starts per second on 2 cores), so
 * a storm planned within seconds may in truth have been spread over much longer.
 * A storm whose ops ran late against its window is flagged, as a saturated host
 * is: the verdict then says more about the runtime than about the network. Pure.
 */
import type { PeerEvent } from '../../node/contract/events.ts'

/** A storm is late when its p99 lateness exceeds this share of its window... */
export const LAG_WINDOW_SHARE = 0.5
/** ...and at least this long (an all-at-once storm has a window of 0). */
export const LAG_MIN_MS = 2000

export interface StormLag {
  stormId: string
  restartMode: string | null
  windowMs: number
  ops: number
  lateP50Ms: number
  lateP99Ms: number
  lateMaxMs: number
  lagged: boolean
}

export interface LagReport { lagged: boolean, storms: StormLag[], note: string }

export function quantile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

export function checkRuntimeLag (events: readonly PeerEvent[]): LagReport {
  const storms: StormLag[] = []
  for (const p of events) {
    if (p.ev !== 'storm.plan') continue
    const late = events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.stormId === p.stormId && e.status === 'invoked').map(e => e.lateMs).sort((a, b) => a - b)
    const p99 = quantile(late, 0.99)
    storms.push({
      stormId: p.stormId,
      restartMode: p.restartMode ?? null,
      windowMs: p.windowMs,
      ops: late.length,
      lateP50Ms: quantile(late, 0.5),
      lateP99Ms: p99,
      lateMaxMs: late[late.length - 1] ?? 0,
      lagged: p99 > Math.max(LAG_MIN_MS, LAG_WINDOW_SHARE * p.windowMs)
    })
  }
  const lagged = storms.filter(s => s.lagged)
  const note = lagged.length === 0
    ? (storms.length === 0 ? 'runtime: no storm' : `runtime: storms delivered on time (p99 lateness ${storms.map(s => `${s.stormId} ${(s.lateP99Ms / 1000).toFixed(1)} s`).join(', ')})`)
    : `runtime lag: ${lagged.map(s => `${s.stormId}'s ops ran up to ${(s.lateP99Ms / 1000).toFixed(1)} s late (p99) against a ${(s.windowMs / 1000).toFixed(1)} s window${s.restartMode !== null ? ` (${s.restartMode} restarts)` : ''}`).join('; ')}: the storm was slower than planned`
  return { lagged: lagged.length > 0, storms, note }
}
