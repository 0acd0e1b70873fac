/**
 * Misbehaviour bans: a peer that keeps sending what no patchday peer sends
 * (malformed or oversized frames, bytes after an answer) is cut off for a while,
 * instead of costing a stream, a parse and a reset each time, for as long as it
 * likes (the bench's attack 9: 1,250 bad frames a second from one connection).
 *
 * Each offence spends a token of its peer's bucket: `max` per `windowMs`. With
 * none left, the peer id and its source IP are banned for `banMs`. A legitimate
 * peer's rare bad frame (a request cut short when its process died) is far from
 * the budget. Both the buckets and the bans are bounded in number (the least
 * recently used go first), so that a crowd of identities cannot grow them.
 *
 * A peer's requests refused by its own request budget are not offences (a
 * client may ask once too often), but past `overBudgetMax` such refusals per
 * `windowMs` each further one is: a peer that keeps asking whatever it is told
 * (the bench's attacks 7 and 8: 3,500 busy answers a second from one
 * connection) is then banned like one that sends bad frames.
 *
 * Banning the IP as well is what stops the cost: the transport guard refuses a
 * banned IP's sockets before any cryptography, where a banned peer id is only
 * known after its Noise handshake. Every patchday peer has an address of its own
 * (docs/model.md); behind a shared NAT an IP ban would also shut out the
 * neighbours for `banMs`. Pure; time is passed in.
 */
import { Deadlines } from './deadlines.ts'
import { BucketMap } from './token-bucket.ts'

export interface BanLimits {
  /** Offences a peer may commit per `windowMs` before it is banned; 0 = never ban. */
  max: number
  windowMs: number
  banMs: number
  /** Refusals by a peer's own request budget it may have per `windowMs` before each one more is an offence; 0 = never. */
  overBudgetMax: number
  /** Peers (and banned keys) remembered at most. */
  trackedMax: number
}

/** A key of the ban table: a peer id or a source IP. */
export type BanKey = `peer:${string}` | `ip:${string}`

export class Bans {
  private readonly limits: BanLimits
  private readonly offences: BucketMap | null
  private readonly overBudget: BucketMap | null
  /** Banned keys until their ban ends, least recently banned first. */
  private readonly until: Deadlines<BanKey>

  constructor (limits: BanLimits) {
    this.limits = limits
    this.until = new Deadlines(limits.trackedMax)
    this.offences = limits.max > 0 ? new BucketMap(limits.max * 1000 / limits.windowMs, limits.max, limits.trackedMax) : null
    this.overBudget = limits.overBudgetMax > 0 ? new BucketMap(limits.overBudgetMax * 1000 / limits.windowMs, limits.overBudgetMax, limits.trackedMax) : null
  }

  /** Bans in force or expired but not yet forgotten (for tests and bounds). */
  get size (): number { return this.until.size }

  /** Count one offence of `peer` from `ip`; true when it starts a ban (the caller cuts the peer off). */
  offend (peer: string, ip: string, nowMs: number): boolean {
    if (this.offences === null) return false
    if (this.offences.take(peer, nowMs)) return false
    if (this.banned(`peer:${peer}`, nowMs)) return false
    this.ban(`peer:${peer}`, nowMs)
    if (ip !== '') this.ban(`ip:${ip}`, nowMs)
    return true
  }

  /** `peer` from `ip` was refused by its own request budget: an offence past `overBudgetMax` a window (see offend). */
  refusedOverBudget (peer: string, ip: string, nowMs: number): boolean {
    if (this.overBudget === null || this.overBudget.take(peer, nowMs)) return false
    return this.offend(peer, ip, nowMs)
  }

  /** Whether `key` is banned at `nowMs`; an expired ban is forgotten. */
  banned (key: BanKey, nowMs: number): boolean {
    return this.until.holds(key, nowMs)
  }

  private ban (key: BanKey, nowMs: number): void {
    this.until.set(key, nowMs + this.limits.banMs)
  }
}
