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
