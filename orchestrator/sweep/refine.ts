/**
 * Adaptive refinement of a sweep's storm-share axis (pure): where does the
 * outcome flip from mostly-recovering to mostly-metastable, and which share
 * should be run next to narrow it down?
 *
 * The boundary at one load is the pair of neighbouring tested shares where the
 * estimated probability of the metastable outcome (over the trials that formed)
 * first reaches one half: below < boundary <= above. While that pair is wider
 * than the resolution, the next share to run is its midpoint (bisection: each
 * round halves the interval, so 0.1 -> 0.7 needs 4 rounds to reach 5 points).
 * No flip among the tested shares is an answer too: the boundary lies beyond
 * the tested range (and refining cannot find it inside).
 */

export interface SharePoint {
  share: number
  /** Metastable trials among those that formed. */
  metastable: number
  formed: number
}

export interface Refinement {
  /** The flip: the highest share still mostly recovering, the lowest mostly metastable. */
  boundary: { below: number, above: number } | null
  /** The next share to run, or null when resolved (or there is nothing to refine). */
  next: number | null
  resolved: boolean
  /** One line for the report. */
  why: string
}

export const FLIP_PROBABILITY = 0.5
/** Shares are rounded to this many decimals (0.001): a run's label and seed stay readable. */
const DECIMALS = 3

const round = (x: number): number => Number(x.toFixed(DECIMALS))

export function refineBoundary (points: readonly SharePoint[], resolution = 0.05): Refinement {
  if (!(resolution > 0 && resolution < 1)) throw new RangeError(`resolution must be in (0, 1), got ${resolution}`)
  // Shares whose every trial failed to form say nothing about the flip.
  const judged = points.filter(p => p.formed > 0).map(p => ({ share: p.share, p: p.metastable / p.formed })).sort((a, b) => a.share - b.share)
  if (judged.length === 0) return { boundary: null, next: null, resolved: false, why: 'no share has a trial whose network formed' }
  const first = judged[0] as { share: number, p: number }
  const last = judged[judged.length - 1] as { share: number, p: number }
  if (first.p >= FLIP_PROBABILITY) return { boundary: null, next: null, resolved: false, why: `metastable already at the smallest share tested (${first.share}): the boundary is below it` }
  for (let i = 1; i < judged.length; i++) {
    const a = judged[i - 1] as { share: number, p: number }
    const b = judged[i] as { share: number, p: number }
    if (b.p < FLIP_PROBABILITY) continue
    const width = b.share - a.share
    const boundary = { below: a.share, above: b.share }
    if (width <= resolution + 1e-9) return { boundary, next: null, resolved: true, why: `boundary between ${a.share} and ${b.share} (within ${resolution})` }
    const mid = round((a.share + b.share) / 2)
    // Rounding can land on an end when the pair is a few thousandths apart: then it is as narrow as it gets.
    if (mid <= a.share || mid >= b.share) return { boundary, next: null, resolved: true, why: `boundary between ${a.share} and ${b.share} (no share between at ${DECIMALS} decimals)` }
    return { boundary, next: mid, resolved: false, why: `boundary between ${a.share} and ${b.share}: next ${mid}` }
  }
  return { boundary: null, next: null, resolved: false, why: `no metastable majority up to the largest share tested (${last.share}): the boundary is above it` }
}
