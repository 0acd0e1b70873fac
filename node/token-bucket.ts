/** A token bucket: `ratePerS` tokens per second up to `burst`. Pure; time is passed in. */
export interface TokenBucket {
  ratePerS: number
  burst: number
  tokens: number
  lastMs: number
}

export function createBucket (ratePerS: number, burst: number, nowMs: number): TokenBucket {
  return { ratePerS, burst, tokens: burst, lastMs: nowMs }
}

function refill (b: TokenBucket, nowMs: number): void {
  // A clock that steps back credits nothing, and the same interval is never credited twice.
  if (nowMs <= b.lastMs) return
  b.tokens = Math.min(b.burst, b.tokens + (nowMs - b.lastMs) * b.ratePerS / 1000)
  b.lastMs = nowMs
}

/** Take one token if there is one. */
export function take (b: TokenBucket, nowMs: number): boolean {
  refill(b, nowMs)
  if (b.tokens < 1) return false
  b.tokens -= 1
  return true
}

/** Milliseconds until one token is available. */
export function waitMs (b: TokenBucket, nowMs: number): number {
  refill(b, nowMs)
  return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) * 1000 / b.ratePerS)
}

/**
 * One bucket per key (a peer id, an account), at most `max` keys: past that the
 * least recently used key is forgotten (it starts again with a full bucket,
 * which is what a new key gets anyway). Pure; time is passed in.
 */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>()
  readonly ratePerS: number
  readonly burst: number
  readonly max: number

  constructor (ratePerS: number, burst: number, max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max ${max} is not a positive whole number`)
    this.ratePerS = ratePerS
    this.burst = burst
    this.max = max
  }

  get size (): number { return this.buckets.size }

  private bucket (key: string, nowMs: number): TokenBucket {
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= this.max) this.buckets.delete(this.buckets.keys().next().value as string)
      b = createBucket(this.ratePerS, this.burst, nowMs)
    } else {
      this.buckets.delete(key)
    }
    // (Re)inserted last: a Map iterates in insertion order, so the first key is the least recently used.
    this.buckets.set(key, b)
    return b
  }

  take (key: string, nowMs: number): boolean { return take(this.bucket(key, nowMs), nowMs) }

  /** Milliseconds until `key` has a token (0 for a key not tracked). */
  waitMs (key: string, nowMs: number): number {
    const b = this.buckets.get(key)
    return b === undefined ? 0 : waitMs(b, nowMs)
  }

  /** Tokens `key` has now (`burst` for a key not tracked). */
  tokens (key: string, nowMs: number): number {
    const b = this.buckets.get(key)
    if (b === undefined) return this.burst
    waitMs(b, nowMs) // refills
    return b.tokens
  }
}
