/**
 * Newcomer admission: a node's inbound handshakes from sources it has no reason
 * to trust share one token bucket, so that a flood of fresh identities from
 * fresh addresses (the bench's attack 6: 362 a second from 250 addresses, each
 * asking for a slot and refused) costs the node at most `ratePerS` Noise
 * handshakes a second, not as many as the attacker can make. At most
 * `inFlightMax` of them are in progress at once, so that a burst is served a
 * few at a time: a client's request never waits behind a whole burst of
 * newcomers' handshakes. A handshake holds its place until it ends or for
 * `holdMs` at most, and a source holds one place at most: a socket that never
 * starts Noise costs nothing, and one host's silent sockets must not keep
 * every newcomer out (a Noise handshake takes milliseconds).
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
  /** Newcomers' handshakes in progress at once; 0 = no limit. */
  inFlightMax: number
  /** How long a newcomer's handshake holds its place at most. */
  holdMs: number
  /** How long a vouch lasts after the source last proved itself. */
  vouchMs: number
  /** Sources remembered at most. */
  vouchedMax: number
}

/** How a handshake was admitted: a newcomer's must be `settle`d when it ends. */
export type Admission = 'vouched' | 'newcomer' | 'refused'

export class Newcomers {
  private readonly limits: NewcomerLimits
  private readonly bucket: TokenBucket | null
  /** Vouched sources until their vouch ends, least recently vouched first. */
  private readonly vouched: Deadlines<string>
  /** Newcomers' handshakes holding a place (at most inFlightMax): socket key -> source and start. */
  private readonly running = new Map<string, { source: string, sinceMs: number }>()

  constructor (limits: NewcomerLimits, nowMs: number) {
    this.limits = limits
    this.vouched = new Deadlines(limits.vouchedMax)
    this.bucket = limits.ratePerS > 0 ? createBucket(limits.ratePerS, Math.max(1, limits.burst), nowMs) : null
  }

  /** Sources vouched for (expired ones not yet forgotten included). */
  get size (): number { return this.vouched.size }

  /** Newcomers' handshakes holding a place (expired ones not yet released included). */
  get inFlight (): number { return this.running.size }

  /** `source` proved it belongs to the network at `nowMs`. */
  vouch (source: string, nowMs: number): void {
    if (source !== '') this.vouched.set(source, nowMs + this.limits.vouchMs)
  }

  /** Whether `source` is vouched for at `nowMs`; an expired vouch is forgotten. */
  isVouched (source: string, nowMs: number): boolean {
    return this.vouched.holds(source, nowMs)
  }

  /**
   * May a handshake from `source` on socket `key` start? A vouched source
   * always may. A newcomer needs a place in flight (none held by its source)
   * and then a token; one refused for want of a place spends no token.
   */
  admit (source: string, nowMs: number, key: string): Admission {
    if (this.isVouched(source, nowMs)) return 'vouched'
    if (this.limits.inFlightMax > 0) {
      this.release(nowMs)
      if (this.running.size >= this.limits.inFlightMax) return 'refused'
      for (const r of this.running.values()) if (r.source === source) return 'refused'
    }
    if (this.bucket !== null && !take(this.bucket, nowMs)) return 'refused'
    if (this.limits.inFlightMax > 0) this.running.set(key, { source, sinceMs: nowMs })
    return 'newcomer'
  }

  /** The handshake on socket `key` is over (it opened, failed or timed out): its place is free. */
  settle (key: string): void {
    this.running.delete(key)
  }

  /** Places held longer than holdMs are free (their handshakes may still run, up to the handshake deadline). */
  private release (nowMs: number): void {
    for (const [key, r] of this.running) if (nowMs - r.sinceMs >= this.limits.holdMs) this.running.delete(key)
  }
}
