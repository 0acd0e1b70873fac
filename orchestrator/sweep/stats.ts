/**
 * What a sweep cell's trials say, as counts and a probability (pure).
 *
 * A trial ends in a verdict (recovered, degraded, metastable), or the network
 * never formed before its first storm (a finding about that load, with the
 * evidence kept), or the run failed for another reason (an error: no evidence
 * about the network, so it is not a trial and is run again on resume).
 * The probability of the metastable outcome is estimated over the trials that
 * formed, with a Wilson score interval (95%): honest at 0 of 3 and 3 of 3,
 * where the plain k/n ± normal interval claims certainty it does not have.
 */
import type { Verdict } from '../analysis/verdict.ts'

export type Outcome = Verdict | 'never-formed' | 'error'
export const OUTCOMES: readonly Outcome[] = ['recovered', 'degraded', 'metastable', 'never-formed', 'error']
/** One letter per outcome in tables. */
export const OUTCOME_LETTER: Record<Outcome, string> = { recovered: 'R', degraded: 'D', metastable: 'M', 'never-formed': 'N', error: 'E' }

/** How one trial (one real run) ended: what a sweep cell and an ablation variant both record. */
export interface TrialOutcome {
  verdict: Outcome
  recoveryS: number | null
  hostSaturated: boolean | null
  /** Why a network never formed (its state at the start-up deadline). */
  evidence?: string
  error?: string
}

/** A trial's outcome with the run that gave it. */
export interface TrialRow extends TrialOutcome {
  /** 1-based. */
  trial: number
  seed: string
  runId: string
}

export interface Interval { lo: number, hi: number }

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054

/** Wilson score interval of a binomial proportion k/n; n = 0 knows nothing: [0, 1]. */
export function wilson (k: number, n: number, z = Z95): Interval {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) throw new RangeError(`wilson: need whole 0 <= k <= n, got ${k}/${n}`)
  if (n === 0) return { lo: 0, hi: 1 }
  const p = k / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z / (1 + z2 / n)) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
  // Exact at the ends (rounding would otherwise leave 1e-17 below 0 or above 1).
  return { lo: k === 0 ? 0 : Math.max(0, centre - half), hi: k === n ? 1 : Math.min(1, centre + half) }
}

export interface CellStats {
  /** Runs that ended in evidence: verdicts and never-formed (errors are not trials). */
  trials: number
  counts: Record<Outcome, number>
  /** Trials whose network formed and was judged. */
  formed: number
  /** Metastable trials among those that formed: the share (null when none formed) and its 95% interval. */
  metastable: { k: number, share: number | null } & Interval
}

export function cellStats (outcomes: readonly Outcome[]): CellStats {
  const counts = Object.fromEntries(OUTCOMES.map(o => [o, 0])) as Record<Outcome, number>
  for (const o of outcomes) counts[o]++
  const formed = counts.recovered + counts.degraded + counts.metastable
  const k = counts.metastable
  return { trials: formed + counts['never-formed'], counts, formed, metastable: { k, share: formed === 0 ? null : k / formed, ...wilson(k, formed) } }
}

/** `2R 1M`: runs per outcome, in a fixed order; `-` for none. */
export function countsLabel (s: CellStats): string {
  const parts = OUTCOMES.filter(o => s.counts[o] > 0).map(o => `${s.counts[o]}${OUTCOME_LETTER[o]}`)
  return parts.length === 0 ? '-' : parts.join(' ')
}

const pct = (x: number): string => `${Math.round(x * 100)}`

/** `M 33% [6-79]`: the metastable share among formed trials and its 95% interval, in percent. */
export function metastableLabel (s: CellStats): string {
  if (s.metastable.share === null) return s.counts['never-formed'] > 0 ? 'never formed' : '-'
  return `M ${pct(s.metastable.share)}% [${pct(s.metastable.lo)}-${pct(s.metastable.hi)}]`
}
