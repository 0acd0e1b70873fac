/**
 * Running a sweep: the grid of storm share x load x trials, then (adaptive)
 * more shares where the outcome flips, one run at a time through a CellRunner
 * (the real one runs a scenario; tests give a fake). Pure of I/O apart from what
 * it is handed: `save` is called after every run, so a sweep stopped by Ctrl-C
 * or a reboot resumes from its last saved result, reusing every run that ended
 * in evidence (errors are run again).
 */
import type { Scenario } from '../scenario/schema.ts'
import { expandSweep, sweepCell, type SweepCell } from '../scenario/compile.ts'
import { formatDuration } from '../units.ts'
import { cellStats, type TrialOutcome, type TrialRow } from './stats.ts'
import { refineBoundary } from './refine.ts'
import { loadAxisLabel } from './axis.ts'

export interface SweepResultRow extends TrialRow {
  stormShare: number
  load: number
  /** Run by the adaptive refinement, off the grid. */
  refined?: boolean
}

export interface Boundary {
  load: number
  /** Highest share mostly recovering and lowest share mostly metastable; null where not found. */
  below: number | null
  above: number | null
  resolved: boolean
  why: string
}

export interface SweepResult {
  name: string
  seed: string
  loadKey: string
  /** What the load axis is, for people (axis.ts): `offered load (arrivals / login capacity)` for offeredLoad, else the key. */
  loadLabel: string
  /** The grid's shares and those the refinement added, ascending. */
  stormShares: number[]
  loads: number[]
  trials: number
  rows: SweepResultRow[]
  /** Adaptive sweeps: the boundary found at each load, and the resolution asked for. */
  adaptive?: { resolution: number, maxRuns: number, boundaries: Boundary[] }
}

export type CellOutcome = TrialOutcome
export type CellRunner = (cell: SweepCell, runId: string) => Promise<CellOutcome>

export interface ExecuteArgs {
  scenario: Scenario
  seed: string
  /** The sweep's id: run ids are `<id>-s<share>-l<load>-t<trial>`. */
  id: string
  adaptive?: { resolution: number, maxRuns: number }
  /** Stop after this many runs of the grid (a quick look); no refinement then. */
  limit?: number
  /** A saved result of this sweep to continue. */
  previous?: SweepResult
  runner: CellRunner
  save: (r: SweepResult) => Promise<void>
  progress: { line: (text: string) => void }
  now?: () => number
}

const key = (share: number, load: number, trial: number): string => `${share}|${load}|${trial}`

export function cellRunId (id: string, c: Pick<SweepCell, 'stormShare' | 'load' | 'trial'>): string {
  return `${id}-s${c.stormShare}-l${c.load}-t${c.trial + 1}`.replace(/[^A-Za-z0-9._-]/g, '_')
}

export async function executeSweep (a: ExecuteArgs): Promise<SweepResult> {
  const sweep = a.scenario.sweep
  if (sweep === undefined) throw new Error(`scenario ${a.scenario.name} has no sweep`)
  const now = a.now ?? Date.now
  const loadLabel = loadAxisLabel(sweep.load.key)
  const result: SweepResult = a.previous !== undefined
    ? { ...a.previous, loadLabel, rows: [...a.previous.rows], stormShares: [...a.previous.stormShares] }
    : { name: a.scenario.name, seed: a.seed, loadKey: sweep.load.key, loadLabel, stormShares: [...sweep.stormShares].sort((x, y) => x - y), loads: sweep.load.values, trials: sweep.trials, rows: [] }
  if (a.adaptive !== undefined) result.adaptive = { ...a.adaptive, boundaries: [] }
  const done = new Map(result.rows.filter(r => r.verdict !== 'error').map(r => [key(r.stormShare, r.load, r.trial - 1), r]))
  const grid = expandSweep(a.scenario, a.seed).slice(0, a.limit)
  const reused = grid.filter(c => done.has(key(c.stormShare, c.load, c.trial))).length
  if (reused > 0) a.progress.line(`resuming: ${reused} of ${grid.length} grid runs already done`)
  let ran = 0
  let spentMs = 0
  const run = async (cell: SweepCell, refined: boolean, remaining: () => string): Promise<void> => {
    if (done.has(key(cell.stormShare, cell.load, cell.trial))) return
    const runId = cellRunId(a.id, cell)
    a.progress.line(`[${ran + reused + 1}] ${cell.label}${refined ? ' (refining)' : ''}; ${remaining()}`)
    const t0 = now()
    const out = await a.runner(cell, runId)
    spentMs += now() - t0
    ran++
    const row: SweepResultRow = { stormShare: cell.stormShare, load: cell.load, trial: cell.trial + 1, seed: cell.seed, runId, ...out, ...(refined ? { refined } : {}) }
    // A failed run of the same cell (saved before) is replaced, not kept beside it.
    result.rows = result.rows.filter(r => key(r.stormShare, r.load, r.trial - 1) !== key(cell.stormShare, cell.load, cell.trial))
    result.rows.push(row)
    if (row.verdict !== 'error') done.set(key(cell.stormShare, cell.load, cell.trial), row)
    a.progress.line(`  -> ${row.verdict}${row.recoveryS !== null ? `, recovery ${row.recoveryS.toFixed(1)} s` : ''}${row.hostSaturated === true ? ' (host saturated)' : ''}${row.evidence !== undefined ? `: ${row.evidence}` : ''}${row.error !== undefined ? ` ${row.error}` : ''}`)
    await a.save(result)
  }
  const eta = (left: number): string => ran === 0 ? `${left} left` : `${left} left, about ${formatDuration(left * spentMs / ran)}`
  for (const [i, cell] of grid.entries()) {
    const left = grid.slice(i).filter(c => !done.has(key(c.stormShare, c.load, c.trial))).length
    await run(cell, false, () => eta(left))
  }
  if (a.adaptive === undefined || a.limit !== undefined) return result
  let budget = a.adaptive.maxRuns
  for (const load of result.loads) {
    const tried = new Set<number>()
    for (;;) {
      const points = result.stormShares.map(share => {
        const s = cellStats(result.rows.filter(r => r.load === load && r.stormShare === share).map(r => r.verdict))
        return { share, metastable: s.metastable.k, formed: s.formed }
      })
      const r = refineBoundary(points, a.adaptive.resolution)
      const boundary: Boundary = { load, below: r.boundary?.below ?? null, above: r.boundary?.above ?? null, resolved: r.resolved, why: r.why }
      const next = r.next
      // A share tried already that still asks for itself: its trials never formed a network (no evidence either way).
      const stuck = next !== null && tried.has(next)
      if (next === null || stuck || budget < sweep.trials) {
        if (stuck) boundary.why += ` (stopped: no network formed at ${next})`
        else if (next !== null) boundary.why += ` (stopped: the refinement budget of ${a.adaptive.maxRuns} runs is spent)`
        result.adaptive?.boundaries.push(boundary)
        a.progress.line(`${result.loadKey}=${load}: ${boundary.why}`)
        await a.save(result)
        break
      }
      a.progress.line(`${result.loadKey}=${load}: ${r.why}`)
      tried.add(next)
      if (!result.stormShares.includes(next)) result.stormShares = [...result.stormShares, next].sort((x, y) => x - y)
      for (let trial = 0; trial < sweep.trials; trial++) {
        const before = ran
        await run(sweepCell(a.scenario, a.seed, next, load, trial), true, () => `refinement: ${eta(sweep.trials - trial)}`)
        budget -= ran - before
      }
    }
  }
  return result
}
