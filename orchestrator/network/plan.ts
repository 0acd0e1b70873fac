/**
 * The shape of a network, as a pure function of (options, seed): which peers
 * exist, which are bootstrap supernodes, their capacity class. Every runtime
 * starts the same plan; where each process listens is the runtime's choice.
 */
import { createRng } from '../../node/contract/rng.ts'
import { defaultSetting, type PeerConfig } from '../../node/contract/config.ts'
import { UsageError } from '../errors.ts'
import type { EndpointRequest } from '../runtime/runtime.ts'

export const PEERS_MAX = 5000
export const LOGIN_NAME = 'login'

export interface NetworkOptions {
  peers: number
  seed: string
  /**
   * Bootstrap supernodes. Default: enough slots for every peer with 20% to spare,
   * max(2, ceil(1.2 * peers / slotsMax)), so that a network comes up without a
   * storm of busy answers; the election then adjusts supply to demand.
   */
  bootstrap?: number
  /** Share of peers with capacity class >= 2 (eligible for election). */
  capableShare?: number
  /** Share of peers that are reachable (no NAT). */
  reachableShare?: number
  /** Settings for every peer (and the login server). */
  settings?: Partial<PeerConfig>
  /** Dedicated supernodes provisioned but not started, for `inject` (2010's mega-supernodes). */
  reserve?: number
  /**
   * Of `peers`, how many join later (a scenario's `joins`): the last ones of the plan,
   * never bootstrap, provisioned with everyone but started by the run's timeline, not by `up`.
   * The default bootstrap count is sized for the peers that start at once.
   */
  late?: number
}

export const RESERVE_DEFAULT = 8
export const RESERVE_MAX = 64

export interface PeerPlan {
  name: string
  index: number
  bootstrap: boolean
  capacityClass: number
  reachable: boolean
  /** Joins later (a scenario's `joins`): `up` does not start it. Absent for the others. */
  late?: true
}

export interface NetworkPlan {
  seed: string
  login: { name: string }
  peers: PeerPlan[]
  /** Dedicated supernodes, started only by an injection. */
  reserve: PeerPlan[]
  settings: Partial<PeerConfig>
}

export function peerName (i: number, total: number): string {
  return `p-${String(i).padStart(Math.max(3, String(total).length), '0')}`
}

export function planNetwork (o: NetworkOptions): NetworkPlan {
  if (!Number.isInteger(o.peers) || o.peers < 1 || o.peers > PEERS_MAX) throw new UsageError(`--peers must be 1..${PEERS_MAX}, got ${o.peers}`)
  const late = o.late ?? 0
  if (!Number.isInteger(late) || late < 0 || late >= o.peers) throw new UsageError(`peers joining later must be 0..${o.peers - 1} (some must start the network), got ${late}`)
  const initial = o.peers - late
  const slots = o.settings?.slotsMax ?? defaultSetting('slotsMax')
  const bootstrap = o.bootstrap ?? Math.min(initial, Math.max(2, Math.ceil(1.2 * initial / slots)))
  if (!Number.isInteger(bootstrap) || bootstrap < 1 || bootstrap > initial) throw new UsageError(`--bootstrap must be 1..${initial}${late > 0 ? ' (the peers that start the network)' : ''}, got ${bootstrap}`)
  const capable = o.capableShare ?? 0.3
  const reachable = o.reachableShare ?? 0.9
  for (const [flag, v] of [['capable share', capable], ['reachable share', reachable]] as const) {
    if (!(v >= 0 && v <= 1)) throw new UsageError(`${flag} must be 0..1, got ${v}`)
  }
  const rng = createRng(`${o.seed}/network`)
  const peers: PeerPlan[] = []
  for (let i = 1; i <= o.peers; i++) {
    const isBootstrap = i <= bootstrap
    const p: PeerPlan = {
      name: peerName(i, o.peers),
      index: i,
      bootstrap: isBootstrap,
      // Bootstrap supernodes are well provisioned; others draw their class.
      capacityClass: isBootstrap ? 3 : rng.next() < capable ? 2 + rng.int(0, 1) : rng.int(0, 1),
      reachable: isBootstrap || rng.next() < reachable
    }
    // The same draws as everyone's: the peers before them are those of a plan without joins.
    if (i > initial) p.late = true
    peers.push(p)
  }
  const reserveCount = o.reserve ?? RESERVE_DEFAULT
  if (!Number.isInteger(reserveCount) || reserveCount < 0 || reserveCount > RESERVE_MAX) throw new UsageError(`reserve must be 0..${RESERVE_MAX}, got ${reserveCount}`)
  const reserve: PeerPlan[] = []
  for (let i = 1; i <= reserveCount; i++) {
    reserve.push({ name: reserveName(i), index: i, bootstrap: true, capacityClass: 3, reachable: true })
  }
  return { seed: o.seed, login: { name: LOGIN_NAME }, peers, reserve, settings: o.settings ?? {} }
}

/** The peers `up` starts: all but those that join later. */
export function initialPeers (plan: Pick<NetworkPlan, 'peers'>): PeerPlan[] {
  return plan.peers.filter(p => p.late !== true)
}

/**
 * How many peers the network has now, for display and steady state: those `up` started
 * and the late ones that have joined (`joined(name)`: started by the run, or seen in the logs).
 */
export function peersNow (peers: ReadonlyArray<{ name: string, late?: boolean }>, joined: (name: string) => boolean): number {
  let n = 0
  for (const p of peers) if (p.late !== true || joined(p.name)) n++
  return n
}

/** The reserve's dedicated supernodes are mega-01, mega-02, ... */
export function reserveName (i: number): string {
  return `mega-${String(i).padStart(2, '0')}`
}

/** Every process of the plan as the runtime addresses it: the login server, the peers, the reserve. */
export function endpointRequests (plan: NetworkPlan): EndpointRequest[] {
  return [
    { name: plan.login.name, group: 'login', index: 1, wellKnown: true },
    ...plan.peers.map(p => ({ name: p.name, group: 'peer' as const, index: p.index, wellKnown: p.bootstrap })),
    ...plan.reserve.map(p => ({ name: p.name, group: 'reserve' as const, index: p.index, wellKnown: true }))
  ]
}

export function endpointRequest (plan: NetworkPlan, name: string): EndpointRequest | undefined {
  return endpointRequests(plan).find(r => r.name === name)
}
