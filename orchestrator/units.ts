/** Durations and shares as users type them: `20s`, `500ms`, `2m`, `1h`, `0.6`. */
import { UsageError } from './errors.ts'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parse `20s`, `500ms`, `2m`, `1.5h` into milliseconds; a bare number is refused (units are mandatory). */
export function parseDuration (text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text)
  if (m === null) throw new UsageError(`${what}: expected a duration like 500ms, 20s, 2m or 1h, got ${JSON.stringify(text)}`)
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number))
}

export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`
  return `${(ms / 60_000).toFixed(1)}m`
}

/** A rate or ratio for people: `digits` significant digits, no trailing zeros (0.625, 1.46, 19.7). */
export function formatSignificant (x: number, digits = 3): string {
  return Number(x.toPrecision(digits)).toString()
}

export function parseShare (text: string, what = 'share'): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${what}: expected a number from 0 to 1, got ${JSON.stringify(text)}`)
  return n
}

export function parseCount (text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what}: expected a whole number, got ${JSON.stringify(text)}`)
  const n = Number(text)
  if (n < min || n > max) throw new UsageError(`${what}: expected ${min}..${max}, got ${n}`)
  return n
}
