/**
 * Newcomer admission: a node's inbound handshakes from sources it has no reason
 * to trust share one token bucket, so that a flood of fresh identities from
 * fresh addresses (the bench's attack 6: 362 a second from 250 addresses, each
 * asking for a slot and refused) costs the node at most `ratePerS` Noise
 * handshakes a second, not as many as the attacker can make.
 *
 * A source is vouched for when it has shown it belongs to the network: it
 * presented a ticket that verified (supernode), logged in (login server), or
 * we dialled it ourselves. A vouched source is never counted, so the clients a
 * node serves keep reaching it however many newcomers are refused; what such a
 * flood costs is only the newcomers' first handshakes (a rebooted client's
 * address was vouched for before its reboot).
 *
 * Checked last, after every cap that refuses a socket anyway, so that no token
 * is spent on a socket refused for another reason. Both the vouched sources and
 * their ages are bounded (the least recently vouched go first). Pure; time is
 * passed in.
 */
import { Deadlines } from './deadlines.ts'
import { createBucket, take, type TokenBucket } from './token-bucket.ts'

export interface NewcomerLimits {
  /** Handshakes a second from sources not vouched for; 0 = no limit. */
  ratePerS: number
  burst: number
  /** How long a vouch lasts after the source last proved itself. */
  vouchMs: number
  /** Sources remembered at most. */
  vouchedMax: number
}

export class Newcomers {
  private readonly limits: NewcomerLimits
  private readonly bucket: TokenBucket | null
  /** Vouched sources until their vouch ends, least recently vouched first. */
  private readonly vouched: Deadlines<string>

  constructor (limits: NewcomerLimits, nowMs: number) {
    this.limits = limits
    this.vouched = new Deadlines(limits.vouchedMax)
    this.bucket = limits.ratePerS > 0 ? createBucket(limits.ratePerS, Math.max(1, limits.burst), nowMs) : null
  }

  /** Sources vouched for (expired ones not yet forgotten included). */
  get size (): number { return this.vouched.size }

  /** `source` proved it belongs to the network at `nowMs`. */
  vouch (source: string, nowMs: number): void {
    if (source !== '') this.vouched.set(source, nowMs + this.limits.vouchMs)
  }

  /** Whether `source` is vouched for at `nowMs`; an expired vouch is forgotten. */
  isVouched (source: string, nowMs: number): boolean {
    return this.vouched.holds(source, nowMs)
  }

  /** May a handshake from `source` start? A newcomer takes a token; false when none is left. */
  admit (source: string, nowMs: number): boolean {
    if (this.bucket === null || this.isVouched(source, nowMs)) return true
    return take(this.bucket, nowMs)
  }
}
