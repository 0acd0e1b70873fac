/**
 * Fix ablation (pure): which fix alone suffices, which are necessary? From a
 * scenario with its faults on and a set of fixes (fix models with their
 * parameters), the variants to run: no fix, all fixes, each fix alone and all
 * but each one. A fix replaces the faults it contradicts (the models that set
 * the same settings: slot-leak and slot-reclaim, promotion-stall and
 * demand-promotion, immediate-retries and jittered-backoff or admission-control),
 * and the scenario's own settings of those keys give way to the fix.
 */
import type { Scenario } from './schema.ts'
import { MODELS, MODEL_NAMES, modelKeys, type ModelName, type ModelSelection } from './models.ts'
import type { PeerConfig } from '../../node/contract/config.ts'
import { cellStats, countsLabel, type TrialRow } from '../sweep/stats.ts'

export interface AblationVariant {
  /** `none`, `all`, `only:<fix>`, `without:<fix>` */
  id: string
  /** The fixes switched on, in model order. */
  fixes: ModelName[]
}

export function isFix (name: ModelName): boolean {
  return MODELS[name].kind === 'fix'
}

/** The fixes of a scenario's models (e.g. a tuned scenario's), with their parameters. */
export function fixesOf (models: ModelSelection): ModelSelection {
  return Object.fromEntries(MODEL_NAMES.filter(n => models[n] !== undefined && isFix(n)).map(n => [n, models[n]])) as ModelSelection
}

/** Every fix of an era, with default parameters. */
export function eraFixes (era: 2007 | 2010): ModelSelection {
  return Object.fromEntries(MODEL_NAMES.filter(n => isFix(n) && MODELS[n].era === era).map(n => [n, {}])) as ModelSelection
}

/** none, all, then each fix alone and all but each (duplicates dropped: with one fix, "only" is "all"). */
export function ablationPlan (fixes: readonly ModelName[]): AblationVariant[] {
  const ordered = MODEL_NAMES.filter(n => fixes.includes(n))
  if (ordered.length === 0) throw new RangeError('an ablation needs at least one fix')
  const out: AblationVariant[] = [{ id: 'none', fixes: [] }, { id: 'all', fixes: ordered }]
  for (const f of ordered) out.push({ id: `only:${f}`, fixes: [f] })
  for (const f of ordered) out.push({ id: `without:${f}`, fixes: ordered.filter(x => x !== f) })
  const seen = new Set<string>()
  return out.filter(v => {
    const k = v.fixes.join(',')
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** The scenario with exactly these fixes on: contradicted faults and settings give way. */
export function applyFixes (s: Scenario, fixes: ModelSelection, on: readonly ModelName[]): Scenario {
  const keys = new Set(on.flatMap(f => modelKeys(f)))
  const models: ModelSelection = {}
  for (const n of MODEL_NAMES) {
    if (isFix(n)) continue
    const given = s.models[n]
    if (given === undefined) continue
    // A fault whose settings a fix sets is the fault the fix repairs.
    if (modelKeys(n).some(k => keys.has(k))) continue
    Object.assign(models, { [n]: given })
  }
  for (const f of on) Object.assign(models, { [f]: fixes[f] ?? {} })
  const settings: Partial<PeerConfig> = Object.fromEntries(Object.entries(s.settings).filter(([k]) => !keys.has(k as keyof PeerConfig)))
  const { expect: _expect, sweep: _sweep, ...rest } = s
  return { ...rest, name: s.name, models, settings }
}

export interface AblationRow extends TrialRow {
  variant: string
  fixes: ModelName[]
}

export interface AblationSummary {
  variant: string
  fixes: ModelName[]
  counts: string
  recovered: number
  trials: number
  /** Recovery times of the recovered trials, seconds: min, median, max. */
  recoveryS: { min: number, median: number, max: number } | null
}

export function summarize (variants: readonly AblationVariant[], rows: readonly AblationRow[]): AblationSummary[] {
  return variants.map(v => {
    const mine = rows.filter(r => r.variant === v.id)
    const s = cellStats(mine.map(r => r.verdict))
    const times = mine.filter(r => r.verdict === 'recovered' && r.recoveryS !== null).map(r => r.recoveryS as number).sort((a, b) => a - b)
    return {
      variant: v.id,
      fixes: v.fixes,
      counts: mine.length === 0 ? '-' : countsLabel(s),
      recovered: s.counts.recovered,
      trials: s.formed,
      recoveryS: times.length === 0 ? null : { min: times[0] as number, median: times[Math.floor((times.length - 1) / 2)] as number, max: times[times.length - 1] as number }
    }
  })
}

export interface AblationFindings {
  /** Fixes that alone recovered every trial. */
  sufficient: ModelName[]
  /** Fixes without which not every trial recovered (all the others on). */
  necessary: ModelName[]
  /** All fixes on recovered every trial; no fix recovered none. */
  allRecover: boolean
  noneRecovers: boolean
}

export function findings (fixes: readonly ModelName[], summary: readonly AblationSummary[]): AblationFindings {
  // By the set of fixes on, not by id: with two fixes, "without a" is "only b" (the plan keeps one of them).
  const setKey = (on: readonly ModelName[]): string => [...on].sort().join(',')
  const by = new Map(summary.map(s => [setKey(s.fixes), s]))
  const every = (on: readonly ModelName[]): boolean => { const s = by.get(setKey(on)); return s !== undefined && s.trials > 0 && s.recovered === s.trials }
  const notEvery = (on: readonly ModelName[]): boolean => { const s = by.get(setKey(on)); return s !== undefined && s.trials > 0 && s.recovered < s.trials }
  const none = by.get('')
  return {
    sufficient: fixes.filter(f => every([f])),
    necessary: fixes.filter(f => notEvery(fixes.filter(x => x !== f))),
    allRecover: every(fixes),
    noneRecovers: none !== undefined && none.trials > 0 && none.recovered === 0
  }
}

export function formatAblation (fixes: readonly ModelName[], summary: readonly AblationSummary[]): string {
  const head = ['variant', ...fixes, 'outcomes', 'recovery s (min / median / max)']
  const lines = [head.join('\t')]
  for (const s of summary) {
    const t = s.recoveryS
    lines.push([s.variant, ...fixes.map(f => s.fixes.includes(f) ? 'on' : '-'), s.counts, t === null ? '-' : `${t.min.toFixed(1)} / ${t.median.toFixed(1)} / ${t.max.toFixed(1)}`].join('\t'))
  }
  const f = findings(fixes, summary)
  lines.push('(outcomes: R recovered, D degraded, M metastable, N never formed, E error)')
  lines.push(`sufficient alone (every trial recovered): ${f.sufficient.join(', ') || 'none'}`)
  lines.push(`necessary (without it, not every trial recovered): ${f.necessary.join(', ') || 'none'}`)
  return lines.join('\n')
}
