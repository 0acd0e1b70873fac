/**
 * A busy answer's retry hint is the server's word, not a command: a client
 * waits on it only after clamping it to `maxMs`. Without a clamp, 10^9 ms put a
 * client to sleep for 11.6 days, and 2^31 ms or more overflowed Node's timer
 * into a 1 ms hot loop. Pure.
 */
export interface ClampedHint {
  /** The wait to use, emulated ms: 0..maxMs. */
  ms: number
  /** True when the hint was out of bounds (not a finite number >= 0, or above maxMs). */
  clamped: boolean
}

export function clampRetryHint (hintMs: unknown, maxMs: number): ClampedHint {
  if (typeof hintMs !== 'number' || !Number.isFinite(hintMs) || hintMs < 0) return { ms: 0, clamped: true }
  if (hintMs > maxMs) return { ms: maxMs, clamped: true }
  return { ms: hintMs, clamped: false }
}
