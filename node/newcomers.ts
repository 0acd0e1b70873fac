/**
 * Newcomer admission: a node's inbound handshakes from sources it has no reason
 * to trust share one token bucket, so that a flood of fresh identities from
 * fresh addresses (the bench's attack 6: 362 a second from 250 addresses, each
 * asking for a slot and refused) costs the node at most `ratePerS` Noise
 * handshakes a second, not as many as the attacker can make. At most
 * `inFlightMax` of them are in progress at once, so that a burst is served a
 * few at a time: a client's request never waits behind a whole burst of
 * newcomers' handshakes. A newcomer that finds no place or no token waits in
 * a queue (FIFO, at most `queueMax`, for `holdMs` at most), served at the
 * rate as places come free, so that a burst of legitimate newcomers (a storm's
 * clients moving to a supernode they never used) is delayed by milliseconds,
 * not refused: in one Node process their handshakes would share one thread
 * anyway. An attacker's burst is paced the same way from its first second. A handshake holds its place until
 * it ends or for `holdMs` at most, and a source holds one place or one turn in
 * the queue at most: a socket that never starts Noise costs nothing, and one
 * host's silent sockets must not keep every newcomer out (a Noise handshake
 * takes milliseconds).
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
import { createBucket, take, waitMs, type TokenBucket } from './token-bucket.ts'

export interface NewcomerLimits {
  /** Handshakes a second from sources not vouched for; 0 = no limit. */
  ratePerS: number
  burst: number
  /** Newcomers' handshakes in progress at once; 0 = no limit (and no queue). */
  inFlightMax: number
  /** Newcomers waiting for a place at most; past it they are refused. */
  queueMax: number
  /** How long a newcomer's handshake holds its place at most, and how long a newcomer waits for one at most. */
  holdMs: number
  /** How long a vouch lasts after the source last proved itself. */
  vouchMs: number
  /** Sources remembered at most. */
  vouchedMax: number
}

/**
 * How a handshake was admitted: `newcomer` holds a place and `queued` waits
 * for one (see `moves`); both must be `settle`d when their socket ends.
 */
export type Admission = 'vouched' | 'newcomer' | 'queued' | 'refused'

/** Queued newcomers (by socket key) whose turn came, and those whose wait ran out. */
export interface Moves { granted: string[], refused: string[] }

export class Newcomers {
  private readonly limits: NewcomerLimits
  private readonly bucket: TokenBucket | null
  /** Vouched sources until their vouch ends, least recently vouched first. */
  private readonly vouched: Deadlines<string>
  /** Newcomers' handshakes holding a place (at most inFlightMax): socket key -> source and since when. */
  private readonly running = new Map<string, { source: string, sinceMs: number }>()
  /** Newcomers waiting for a place and a token, first come first (at most queueMax): socket key -> source and until when. */
  private readonly waiting = new Map<string, { source: string, untilMs: number }>()
  private granted: string[] = []
  private refused: string[] = []

  constructor (limits: NewcomerLimits, nowMs: number) {
    this.limits = limits
    this.vouched = new Deadlines(limits.vouchedMax)
    this.bucket = limits.ratePerS > 0 ? createBucket(limits.ratePerS, Math.max(1, limits.burst), nowMs) : null
  }

  /** Sources vouched for (expired ones not yet forgotten included). */
  get size (): number { return this.vouched.size }

  /** Newcomers' handshakes holding a place (expired ones not yet released included). */
  get inFlight (): number { return this.running.size }

  /** Newcomers waiting their turn (a place and a token). */
  get queued (): number { return this.waiting.size }

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
   * always may. A newcomer needs a place and a token; without both at once it
   * waits its turn in the queue (the token is taken when the turn comes, so
   * the queue is served at the rate, places permitting). One whose source
   * already holds a place or a turn, or that finds the queue full, is refused.
   * Without places (inFlightMax 0) a newcomer without a token is refused.
   * Places may have come free: call `moves` after.
   */
  admit (source: string, nowMs: number, key: string): Admission {
    if (this.isVouched(source, nowMs)) return 'vouched'
    if (this.limits.inFlightMax <= 0) return this.token(nowMs) ? 'newcomer' : 'refused'
    this.advance(nowMs)
    for (const r of this.running.values()) if (r.source === source) return 'refused'
    for (const w of this.waiting.values()) if (w.source === source) return 'refused'
    if (this.waiting.size === 0 && this.running.size < this.limits.inFlightMax && this.token(nowMs)) {
      this.running.set(key, { source, sinceMs: nowMs })
      return 'newcomer'
    }
    if (this.waiting.size >= this.limits.queueMax) return 'refused'
    this.waiting.set(key, { source, untilMs: nowMs + this.limits.holdMs })
    return 'queued'
  }

  /** The socket `key` of a newcomer admitted or queued by `admit` is over (it opened, failed or closed): its place or turn is free. Call `moves` after. */
  settle (key: string, nowMs: number): void {
    this.running.delete(key)
    this.waiting.delete(key)
    this.advance(nowMs)
  }

  /** Time passed: places held too long are released, waits that ran out end. Call `moves` after. */
  tick (nowMs: number): void {
    this.advance(nowMs)
  }

  /** The queue's moves since the last call. */
  moves (): Moves {
    const m = { granted: this.granted, refused: this.refused }
    this.granted = []
    this.refused = []
    return m
  }

  /** When `tick` must run next (a held place to release or a token to come for the queue, or a wait to end); null when nobody waits. */
  nextDeadline (nowMs: number): number | null {
    if (this.waiting.size === 0) return null
    let next = Infinity
    for (const w of this.waiting.values()) { next = w.untilMs; break }
    if (this.running.size < this.limits.inFlightMax) {
      // A place is free: the queue waits for a token.
      if (this.bucket !== null) next = Math.min(next, nowMs + waitMs(this.bucket, nowMs))
    } else {
      for (const r of this.running.values()) next = Math.min(next, r.sinceMs + this.limits.holdMs)
    }
    return next
  }

  private token (nowMs: number): boolean {
    return this.bucket === null || take(this.bucket, nowMs)
  }

  /** Release places held holdMs, refuse waits that ran out, and give free places to the queue, first come first, a token each. */
  private advance (nowMs: number): void {
    for (const [key, r] of this.running) if (nowMs - r.sinceMs >= this.limits.holdMs) this.running.delete(key)
    for (const [key, w] of this.waiting) {
      if (w.untilMs > nowMs) break
      this.waiting.delete(key)
      this.refused.push(key)
    }
    for (const [key, w] of this.waiting) {
      if (this.running.size >= this.limits.inFlightMax || !this.token(nowMs)) break
      this.waiting.delete(key)
      this.running.set(key, { source: w.source, sinceMs: nowMs })
      this.granted.push(key)
    }
  }
}
