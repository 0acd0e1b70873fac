/**
 * Retry policies (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog 2015).
 * Pure: the random source is passed in, so tests can drive every formula.
 *
 * - immediate:      0
 * - fixed:          base
 * - exponential:    min(cap, base * 2^n)
 * - full-jitter:    random(0, min(cap, base * 2^n))
 * - equal-jitter:   t/2 + random(0, t/2), t = min(cap, base * 2^n)
 * - decorrelated:   min(cap, random(base, 3 * prev)), prev starts at base
 */
export const RETRY_POLICIES = ['immediate', 'fixed', 'exponential', 'full-jitter', 'equal-jitter', 'decorrelated'] as const
export type RetryPolicyName = (typeof RETRY_POLICIES)[number]

export interface RetryPolicy {
  policy: RetryPolicyName
  baseMs: number
  capMs: number
  /** Attempts before giving up; 0 = unlimited. */
  attemptsMax: number
}

export interface RetryState {
  /** Failed attempts so far (0 before the first failure). */
  failures: number
  /** The previous delay (decorrelated jitter needs it). */
  prevDelayMs: number
}

export const INITIAL_RETRY_STATE: RetryState = { failures: 0, prevDelayMs: 0 }

/** `random()` returns a number in [0, 1). */
export type Random = () => number

function exponential (p: RetryPolicy, n: number): number {
  // 2^n overflows to Infinity for large n; min() with the cap keeps it finite,
  // and a zero base stays zero (0 * Infinity would be NaN).
  if (p.baseMs === 0) return 0
  return Math.min(p.capMs, p.baseMs * Math.pow(2, n))
}

/**
 * After a failure: the delay before the next attempt, or `giveUp` when the
 * attempt limit is reached. `state.failures` counts failures before this one.
 */
export function nextRetry (p: RetryPolicy, state: RetryState, random: Random): { delayMs: number, giveUp: boolean, state: RetryState } {
  const failures = state.failures + 1
  const giveUp = p.attemptsMax > 0 && failures >= p.attemptsMax
  const n = state.failures
  let delay: number
  switch (p.policy) {
    case 'immediate': delay = 0; break
    case 'fixed': delay = Math.min(p.capMs, p.baseMs); break
    case 'exponential': delay = exponential(p, n); break
    case 'full-jitter': delay = random() * exponential(p, n); break
    case 'equal-jitter': {
      const t = exponential(p, n)
      delay = t / 2 + random() * (t / 2)
      break
    }
    case 'decorrelated': {
      const prev = state.prevDelayMs > 0 ? state.prevDelayMs : p.baseMs
      const hi = Math.max(p.baseMs, 3 * prev)
      delay = Math.min(p.capMs, p.baseMs + random() * (hi - p.baseMs))
      break
    }
  }
  return { delayMs: Math.round(delay), giveUp, state: { failures, prevDelayMs: delay } }
}
