/**
 * Supernode election: a pure decision function of (settings, observation, random).
 *
 * Promotion when demand exceeds supply: this peer was turned away as busy lately
 * and is still not online,
 * the supernodes it knows are nearly full, or it knows too few of them. Only an
 * eligible peer promotes (reachable, capacity class, uptime), and only with
 * probability `promoteProb` per evaluation, so that not every candidate promotes
 * at once. Demotion when idle and supply is ample; bootstrap supernodes never demote.
 */
export interface ElectionSettings {
  minCapacityClass: number
  minUptimeMs: number
  promoteProb: number
  loadHigh: number
  loadLow: number
  busyWindowMs: number
  demoteIdleMs: number
  demoteProb: number
  minSupernodes: number
  /** During a shortage, ignore `minUptimeMs` (demand-driven promotion). Off, a mass reboot leaves no one old enough: the promotion stall. */
  shortageBypassUptime: boolean
}

export interface ElectionObservation {
  now: number
  role: 'client' | 'supernode'
  bootstrap: boolean
  capacityClass: number
  reachable: boolean
  uptimeMs: number
  /** When this peer was last turned away as busy/full by a supernode (ms), or null. */
  lastBusyAt: number | null
  /** Whether this peer is online (attached and registered). A peer that got a slot after all is no sign of shortage. */
  online: boolean
  /** Supernodes this peer knows with fresh information. */
  knownSupernodes: number
  /** Mean load (clients / slots) of those supernodes, or null when unknown. */
  meanLoad: number | null
  /** Supernode only: clients now, and since when it has had none (null while it has some). */
  clients: number
  idleSince: number | null
}

export type ElectionDecision =
  | { action: 'stay', reason: string }
  | { action: 'promote', reason: 'shortage:busy' | 'shortage:load' | 'shortage:few' }
  | { action: 'demote', reason: 'idle' }

export function eligible (s: ElectionSettings, o: ElectionObservation): string | null {
  if (!o.reachable) return 'unreachable'
  if (o.capacityClass < s.minCapacityClass) return 'capacity'
  if (o.uptimeMs < s.minUptimeMs) return 'uptime'
  return null
}

export function shortage (s: ElectionSettings, o: ElectionObservation): 'shortage:busy' | 'shortage:load' | 'shortage:few' | null {
  if (!o.online && o.lastBusyAt !== null && o.now - o.lastBusyAt <= s.busyWindowMs) return 'shortage:busy'
  if (o.knownSupernodes < s.minSupernodes) return 'shortage:few'
  if (o.meanLoad !== null && o.meanLoad >= s.loadHigh) return 'shortage:load'
  return null
}

export function decide (s: ElectionSettings, o: ElectionObservation, random: () => number): ElectionDecision {
  if (o.role === 'client') {
    const why = shortage(s, o)
    if (why === null) return { action: 'stay', reason: 'supply-ok' }
    const notEligible = eligible(s, o)
    if (notEligible !== null && !(notEligible === 'uptime' && s.shortageBypassUptime)) return { action: 'stay', reason: `ineligible:${notEligible}` }
    if (random() >= s.promoteProb) return { action: 'stay', reason: 'not-drawn' }
    return { action: 'promote', reason: why }
  }
  if (o.bootstrap) return { action: 'stay', reason: 'bootstrap' }
  if (o.clients > 0 || o.idleSince === null) return { action: 'stay', reason: 'serving' }
  if (o.now - o.idleSince < s.demoteIdleMs) return { action: 'stay', reason: 'idle-recently' }
  if (o.knownSupernodes <= s.minSupernodes) return { action: 'stay', reason: 'supply-low' }
  if (o.meanLoad === null || o.meanLoad > s.loadLow) return { action: 'stay', reason: 'load-high' }
  if (random() >= s.demoteProb) return { action: 'stay', reason: 'not-drawn' }
  return { action: 'demote', reason: 'idle' }
}
