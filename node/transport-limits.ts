/**
 * The transport's limits as pure decisions (no sockets, no timers): which
 * inbound handshake or connection to refuse, which connection is idle, which
 * answered stream has lingered too long, and the per-interval counts of what
 * was refused. node/transport-guard.ts applies them to a libp2p node.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnLimitReason } from './contract/events.ts'

/** Why the transport refused or closed something (the `reason` of a `conn.limited` event). */
export type LimitReason = ConnLimitReason

export const LIMIT_REASONS: readonly LimitReason[] = [
  'handshakes-total', 'handshakes-per-ip', 'handshake-timeout',
  'conns-total', 'conns-per-ip', 'conns-per-peer',
  'conn-idle', 'stream-linger', 'misbehaviour', 'banned', 'newcomers'
]

/** Peers whose offences are counted, and bans remembered, at most (node/misbehaviour.ts). */
export const BAN_TRACKED_MAX = 10_000

/** Sources vouched for (node/newcomers.ts) remembered at most, and how long a vouch lasts (real ms). */
export const VOUCHED_MAX = 10_000
export const VOUCH_MS = 3_600_000

/** The guard's settings, every duration in real ms (the caller has applied the time scale). 0 switches a per-source limit off. */
export interface TransportLimits {
  /** Open connections at most; inbound ones beyond it are refused before the handshake. */
  connsMax: number
  /** Connections per remote peer id (after the Noise handshake); 0 = no limit. */
  connsPerPeerMax: number
  /** Inbound connections per source IP; 0 = no limit. */
  connsPerIpMax: number
  /** Inbound handshakes in progress at most. */
  handshakesMax: number
  /** Inbound handshakes in progress per source IP; 0 = no limit. */
  handshakesPerIpMax: number
  /** An inbound connection must be upgraded (security, muxer) within this. */
  handshakeTimeoutMs: number
  /** A connection without open streams and without an exchange for this long is closed; 0 = never. */
  connIdleMs: number
  /** A stream we have answered and closed, that the remote has not closed within this, is reset; 0 = never. */
  streamLingerMs: number
  /** Streams per connection and direction at the muxer (yamux), negotiated or not. */
  streamsPerConnMax: number
  /** How often the counts of refusals are logged (one event per reason with a count). */
  logIntervalMs: number
  /** Offences (malformed or oversized frames, bytes after an answer) a peer may commit per `misbehaviourWindowMs`; one more bans it. 0 = never ban. */
  misbehaviourMax: number
  misbehaviourWindowMs: number
  /** Requests refused by a peer's own request budget it may have per `misbehaviourWindowMs`; each one more is an offence. 0 = never. */
  overBudgetMax: number
  /** How long a banned peer id and its source IP are refused. */
  banMs: number
  /** Inbound handshakes a second from sources not vouched for (node/newcomers.ts), after a burst; 0 = no limit. */
  newcomerRatePerS: number
  newcomerBurst: number
  /** Inbound handshakes from sources not vouched for in progress at once; 0 = no limit. */
  newcomerInFlightMax: number
  /** Newcomers waiting for a place at most. */
  newcomerQueueMax: number
  /** How long such a handshake holds its place at most, and how long a newcomer waits for one at most. */
  newcomerHoldMs: number
}

/** The source IP of a connection's remote address ('' when it has none, e.g. a relay). */
export function remoteIp (addr: Multiaddr): string {
  const c = addr.getComponents().find(x => x.name === 'ip4' || x.name === 'ip6')
  return c?.value ?? ''
}

/** Counts per key that forget a key at zero, so that the map holds only live sources. */
export class KeyCounts {
  private readonly counts = new Map<string, number>()
  get (key: string): number { return this.counts.get(key) ?? 0 }
  get size (): number { return this.counts.size }
  inc (key: string): void { this.counts.set(key, this.get(key) + 1) }
  dec (key: string): void {
    const n = this.get(key) - 1
    if (n > 0) this.counts.set(key, n)
    else this.counts.delete(key)
  }
}

/** What the guard knows when an inbound socket asks to start a handshake. */
export interface InboundState {
  handshakes: number
  handshakesFromIp: number
  conns: number
  connsFromIp: number
}

/** Refuse a new inbound socket before any cryptography, or null to let it start its handshake. */
export function refuseInbound (s: InboundState, l: TransportLimits): LimitReason | null {
  if (s.conns + s.handshakes >= l.connsMax) return 'conns-total'
  // Handshakes in progress count as connections of their source: parallel ones cannot pass the cap together.
  if (l.connsPerIpMax > 0 && s.connsFromIp + s.handshakesFromIp >= l.connsPerIpMax) return 'conns-per-ip'
  if (s.handshakes >= l.handshakesMax) return 'handshakes-total'
  if (l.handshakesPerIpMax > 0 && s.handshakesFromIp >= l.handshakesPerIpMax) return 'handshakes-per-ip'
  return null
}

/** Refuse a connection whose remote peer id already holds `held` connections (checked after Noise, before the muxer). */
export function refusePeer (held: number, l: TransportLimits): LimitReason | null {
  return l.connsPerPeerMax > 0 && held >= l.connsPerPeerMax ? 'conns-per-peer' : null
}

/** One connection as the sweep sees it. */
export interface ConnView {
  id: string
  direction: 'inbound' | 'outbound'
  openedMs: number
  streams: number
  lastActiveMs: number
}

/**
 * Surplus connections of one remote peer: the newest inbound ones beyond the
 * cap (connections a session already uses are kept; the attacker's newest go).
 */
export function surplus (conns: readonly ConnView[], l: TransportLimits): string[] {
  if (l.connsPerPeerMax <= 0 || conns.length <= l.connsPerPeerMax) return []
  const inbound = conns.filter(c => c.direction === 'inbound').sort((a, b) => b.openedMs - a.openedMs || (b.id < a.id ? -1 : 1))
  return inbound.slice(0, conns.length - l.connsPerPeerMax).map(c => c.id)
}

/** Connections with no stream open and no exchange for `connIdleMs`. */
export function idle (conns: readonly ConnView[], nowMs: number, l: TransportLimits): string[] {
  if (l.connIdleMs <= 0) return []
  return conns.filter(c => c.streams === 0 && nowMs - c.lastActiveMs >= l.connIdleMs).map(c => c.id)
}

/** A stream is lingering when our side is closed and the remote's is not; `sinceMs` is when the sweep first saw it so. */
export function lingered (sinceMs: number, nowMs: number, l: TransportLimits): boolean {
  return l.streamLingerMs > 0 && nowMs - sinceMs >= l.streamLingerMs
}

/** How often the guard sweeps: often enough that each timeout is kept to within a quarter of itself. */
export function sweepEveryMs (l: TransportLimits): number {
  const spans = [l.connIdleMs, l.streamLingerMs].filter(ms => ms > 0)
  if (spans.length === 0) return 0
  return Math.max(50, Math.floor(Math.min(...spans) / 4))
}

export interface LimitRecord { reason: LimitReason, count: number, sample: string }

/**
 * Refusals counted per reason between two log lines, with one sample each (the
 * first remote address or peer id of the interval): a flood of bad sockets is a
 * line per reason and interval, never a line per socket.
 */
export class LimitCounts {
  private readonly counts = new Map<LimitReason, LimitRecord>()
  private readonly totals = new Map<LimitReason, number>()

  add (reason: LimitReason, sample: string): void {
    const r = this.counts.get(reason)
    if (r === undefined) this.counts.set(reason, { reason, count: 1, sample })
    else r.count++
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1)
  }

  /** Since the process started (for tests and the stats). */
  total (reason: LimitReason): number { return this.totals.get(reason) ?? 0 }

  /** The interval's records (in LIMIT_REASONS order), and a new interval. */
  drain (): LimitRecord[] {
    const out = LIMIT_REASONS.flatMap(r => { const rec = this.counts.get(r); return rec === undefined ? [] : [rec] })
    this.counts.clear()
    return out
  }
}
