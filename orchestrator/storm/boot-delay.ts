/**
 * Boot delay: how long a restarted peer stays down (a PC rebooting to install
 * its updates). One grammar for the CLI and scenario files:
 *
 *   5s                          fixed
 *   2s..8s                      uniform in [2s, 8s]
 *   exp(5s, 1s..30s)            exponential with mean 5s, truncated to [1s, 30s]
 *   normal(10s, 3s, 2s..20s)    normal with mean 10s and sd 3s, truncated to [2s, 20s]
 *
 * Every distribution is bounded, so a storm's length is known before it runs.
 * Durations use the one parser in ../units.ts.
 */
import type { Rng } from '../../node/contract/rng.ts'
import { parseDuration, formatDuration } from '../units.ts'
import { UsageError } from '../errors.ts'
import { StormSpecError } from './errors.ts'

export type BootDelay =
  | { kind: 'fixed', ms: number }
  | { kind: 'uniform', minMs: number, maxMs: number }
  | { kind: 'exponential', meanMs: number, minMs: number, maxMs: number }
  | { kind: 'normal', meanMs: number, sdMs: number, minMs: number, maxMs: number }

/** Tries of the rejection sampler for the truncated normal (see sampleBootDelay). */
export const NORMAL_TRIES_MAX = 10_000

const RANGE = /^(.+?)\.\.(.+)$/
const EXP = /^exp\((.+),(.+)\)$/
const NORMAL = /^normal\((.+),(.+),(.+)\)$/

function duration (text: string, whole: string): number {
  try {
    return parseDuration(text.trim(), 'boot delay')
  } catch (err) {
    if (err instanceof UsageError) throw new StormSpecError(whole, `${JSON.stringify(text.trim())} is not a duration (expected e.g. 500ms, 20s, 2m)`)
    throw err
  }
}

function range (text: string, whole: string): { minMs: number, maxMs: number } {
  const m = RANGE.exec(text.trim())
  if (m === null) throw new StormSpecError(whole, `expected bounds like 1s..30s, got ${JSON.stringify(text.trim())}`)
  const minMs = duration(m[1] ?? '', whole)
  const maxMs = duration(m[2] ?? '', whole)
  if (minMs > maxMs) throw new StormSpecError(whole, 'the lower bound exceeds the upper bound')
  return { minMs, maxMs }
}

export function parseBootDelay (text: string): BootDelay {
  const t = text.trim()
  const exp = EXP.exec(t)
  if (exp !== null) {
    const meanMs = duration(exp[1] ?? '', t)
    if (meanMs <= 0) throw new StormSpecError(t, 'the mean must be above 0')
    return { kind: 'exponential', meanMs, ...range(exp[2] ?? '', t) }
  }
  const normal = NORMAL.exec(t)
  if (normal !== null) {
    const meanMs = duration(normal[1] ?? '', t)
    const sdMs = duration(normal[2] ?? '', t)
    if (sdMs <= 0) throw new StormSpecError(t, 'the standard deviation must be above 0')
    const bounds = range(normal[3] ?? '', t)
    // With the mean inside the bounds the rejection sampler accepts often enough (see below).
    if (meanMs < bounds.minMs || meanMs > bounds.maxMs) throw new StormSpecError(t, 'the mean must lie within the bounds')
    return { kind: 'normal', meanMs, sdMs, ...bounds }
  }
  if (/^[a-z]+\(/.test(t)) throw new StormSpecError(t, 'unknown distribution (expected exp(mean, min..max) or normal(mean, sd, min..max))')
  if (RANGE.test(t)) {
    const r = range(t, t)
    return { kind: 'uniform', ...r }
  }
  return { kind: 'fixed', ms: duration(t, t) }
}

export function formatBootDelay (d: BootDelay): string {
  const f = formatDuration
  switch (d.kind) {
    case 'fixed': return f(d.ms)
    case 'uniform': return `${f(d.minMs)}..${f(d.maxMs)}`
    case 'exponential': return `exp(${f(d.meanMs)}, ${f(d.minMs)}..${f(d.maxMs)})`
    case 'normal': return `normal(${f(d.meanMs)}, ${f(d.sdMs)}, ${f(d.minMs)}..${f(d.maxMs)})`
  }
}

export function bootDelayBounds (d: BootDelay): { minMs: number, maxMs: number } {
  return d.kind === 'fixed' ? { minMs: d.ms, maxMs: d.ms } : { minMs: d.minMs, maxMs: d.maxMs }
}

/** One draw, in whole milliseconds, always within bootDelayBounds(d). */
export function sampleBootDelay (d: BootDelay, rng: Rng): number {
  switch (d.kind) {
    case 'fixed': return d.ms
    case 'uniform': return Math.round(rng.range(d.minMs, d.maxMs))
    case 'exponential': {
      // Inverse CDF restricted to [F(min), F(max)]: exact, one draw.
      const cdf = (x: number): number => 1 - Math.exp(-x / d.meanMs)
      const u = rng.range(cdf(d.minMs), cdf(d.maxMs))
      const x = -d.meanMs * Math.log(1 - u)
      return clamp(Math.round(x), d.minMs, d.maxMs)
    }
    case 'normal': {
      for (let i = 0; i < NORMAL_TRIES_MAX; i++) {
        // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
        const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
        const x = d.meanMs + d.sdMs * z
        if (x >= d.minMs && x <= d.maxMs) return Math.round(x)
      }
      // The mean lies within the bounds, so acceptance is this rare only when the
      // bounds are a sliver of the sd, where the truncated normal is flat: uniform is its limit.
      return Math.round(rng.range(d.minMs, d.maxMs))
    }
  }
}

function clamp (x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}
