/**
 * Storm planning: a pure function of (seed, spec, peers) -> ordered operations.
 *
 * Every target is stopped once (SIGTERM with a grace period, or SIGKILL for a
 * power cut) and started again after its boot delay. Shapes say when the stops
 * happen:
 * - all-at-once: every stop at 0;
 * - uniform:     each stop uniform in [0, windowMs];
 * - waves:       targets dealt into `waves` groups of near-equal size (like time
 *                zones reaching patch day one after another); wave i's stops are
 *                uniform in [i * (waveWindowMs + gapMs), + waveWindowMs].
 *
 * Times are in the unit of the spec: scenario time (emulated ms) when planned
 * from a scenario; `scalePlan` turns a plan into real ms for the executor.
 *
 * Targets, stop times and boot delays draw from separate forks of the storm's
 * rng, so changing the boot delay of a spec does not change who is hit or when.
 */
import { createRng, type Rng } from '../../node/contract/rng.ts'
import { formatDuration } from '../units.ts'
import { resolveTargets, type TargetPeer } from './targets.ts'
import { sampleBootDelay, formatBootDelay, type BootDelay } from './boot-delay.ts'
import { StormSpecError } from './errors.ts'

export const SHAPES = ['all-at-once', 'uniform', 'waves'] as const
export const SHUTDOWNS = ['graceful', 'power-cut'] as const
export type Shutdown = (typeof SHUTDOWNS)[number]

export type StormShape =
  | { kind: 'all-at-once' }
  | { kind: 'uniform', windowMs: number }
  | { kind: 'waves', waves: number, waveWindowMs: number, gapMs: number }

export interface StormSpec {
  /** Names the storm in the journal (`stormId`) and seeds its rng. */
  id: string
  /** A target spec (targets.ts). */
  targets: string
  shape: StormShape
  /** graceful: SIGTERM (the peer logs its shutdown), SIGKILL after graceMs; power-cut: SIGKILL at once. */
  shutdown: Shutdown
  /** Real ms (not scaled): the time a process gets to exit after SIGTERM, whatever the emulated clock. */
  graceMs: number
  bootDelay: BootDelay
}

export type StormOpKind = 'stop' | 'kill' | 'start'

export interface StormOp {
  /** ms after the storm's start. */
  at: number
  op: StormOpKind
  target: string
}

export interface StormPlan {
  stormId: string
  seed: string
  spec: StormSpec
  /** Sorted names of the peers hit. */
  targets: string[]
  /** Ordered by `at`; for one target its stop always precedes its start. */
  ops: StormOp[]
  /** Span of the stops: the storm's window as the shape defines it (0 for all-at-once). */
  windowMs: number
  /** Time of the last op. */
  endMs: number
  graceMs: number
}

export const WAVES_MAX = 48

/** The span over which stops happen, as the shape defines it. */
export function shapeWindowMs (shape: StormShape): number {
  switch (shape.kind) {
    case 'all-at-once': return 0
    case 'uniform': return shape.windowMs
    case 'waves': return shape.waves * shape.waveWindowMs + (shape.waves - 1) * shape.gapMs
  }
}

export function describeShape (shape: StormShape): string {
  switch (shape.kind) {
    case 'all-at-once': return 'all at once'
    case 'uniform': return `uniform over ${formatDuration(shape.windowMs)}`
    case 'waves': return `${shape.waves} waves of ${formatDuration(shape.waveWindowMs)}, ${formatDuration(shape.gapMs)} apart`
  }
}

function checkSpec (spec: StormSpec): void {
  const nonNegative = (v: number, what: string): void => {
    if (!Number.isFinite(v) || v < 0) throw new StormSpecError(what, 'must be a duration of 0 or more')
  }
  nonNegative(spec.graceMs, 'grace')
  if (spec.shape.kind === 'uniform') nonNegative(spec.shape.windowMs, 'window')
  if (spec.shape.kind === 'waves') {
    nonNegative(spec.shape.waveWindowMs, 'waveWindow')
    nonNegative(spec.shape.gapMs, 'gap')
    if (!Number.isInteger(spec.shape.waves) || spec.shape.waves < 1 || spec.shape.waves > WAVES_MAX) throw new StormSpecError('waves', `must be a whole number 1..${WAVES_MAX}`)
  }
}

/** Stop time of each target (targets in sorted order). */
function stopTimes (shape: StormShape, targets: readonly string[], rng: Rng): Map<string, number> {
  const at = new Map<string, number>()
  switch (shape.kind) {
    case 'all-at-once':
      for (const t of targets) at.set(t, 0)
      break
    case 'uniform':
      for (const t of targets) at.set(t, Math.round(rng.range(0, shape.windowMs)))
      break
    case 'waves': {
      const dealt = rng.shuffle(targets)
      const size = Math.floor(dealt.length / shape.waves)
      const extra = dealt.length % shape.waves
      let i = 0
      for (let w = 0; w < shape.waves; w++) {
        const start = w * (shape.waveWindowMs + shape.gapMs)
        const n = size + (w < extra ? 1 : 0)
        for (const t of dealt.slice(i, i + n)) at.set(t, start + Math.round(rng.range(0, shape.waveWindowMs)))
        i += n
      }
      break
    }
  }
  return at
}

const OP_ORDER: Record<StormOpKind, number> = { stop: 0, kill: 0, start: 1 }

export function planStorm (seed: string, spec: StormSpec, peers: readonly TargetPeer[]): StormPlan {
  checkSpec(spec)
  const rng = createRng(seed).fork(`storm/${spec.id}`)
  const targets = resolveTargets(spec.targets, peers, rng.fork('targets'))
  const stops = stopTimes(spec.shape, targets, rng.fork('shape'))
  const boot = rng.fork('boot')
  const stopOp: StormOpKind = spec.shutdown === 'graceful' ? 'stop' : 'kill'
  const ops: StormOp[] = []
  for (const target of targets) {
    const at = stops.get(target) ?? 0
    ops.push({ at, op: stopOp, target })
    ops.push({ at: at + sampleBootDelay(spec.bootDelay, boot), op: 'start', target })
  }
  ops.sort((a, b) => a.at - b.at || OP_ORDER[a.op] - OP_ORDER[b.op] || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
  return {
    stormId: spec.id,
    seed,
    spec,
    targets,
    ops,
    windowMs: shapeWindowMs(spec.shape),
    endMs: ops.reduce((m, o) => Math.max(m, o.at), 0),
    graceMs: spec.graceMs
  }
}

/** The plan in real ms: op times, window and end multiplied by timeScale (real s per emulated s). Grace is real already. */
export function scalePlan (plan: StormPlan, timeScale: number): StormPlan {
  if (!(timeScale > 0 && Number.isFinite(timeScale))) throw new StormSpecError('timeScale', 'must be a number above 0')
  const s = (ms: number): number => Math.round(ms * timeScale)
  return { ...plan, ops: plan.ops.map(o => ({ ...o, at: s(o.at) })), windowMs: s(plan.windowMs), endMs: s(plan.endMs) }
}

/** Boot delay each target actually got in the plan (start time minus stop time). */
export function plannedBootDelays (plan: StormPlan): Map<string, number> {
  const stopAt = new Map<string, number>()
  const out = new Map<string, number>()
  for (const o of plan.ops) {
    if (o.op === 'start') out.set(o.target, o.at - (stopAt.get(o.target) ?? 0))
    else stopAt.set(o.target, o.at)
  }
  return out
}

/** A few lines for a terminal: what, who, when, and the first `opsShown` operations. */
export function summarizePlan (plan: StormPlan, opsShown = 8): string[] {
  const f = formatDuration
  const s = plan.spec
  const delays = [...plannedBootDelays(plan).values()].sort((a, b) => a - b)
  const lines = [
    `storm ${plan.stormId} (seed ${plan.seed}): ${plan.targets.length} peers (${s.targets}), ${describeShape(s.shape)}, ` +
      `${s.shutdown === 'graceful' ? `graceful (SIGTERM, SIGKILL after ${f(s.graceMs)})` : 'power cut (SIGKILL)'}, boot delay ${formatBootDelay(s.bootDelay)}`
  ]
  if (delays.length > 0) {
    const median = delays[Math.floor(delays.length / 2)] ?? 0
    lines.push(`  ${plan.ops.length} ops over ${f(plan.endMs)}; boot delays min ${f(delays[0] ?? 0)}, median ${f(median)}, max ${f(delays[delays.length - 1] ?? 0)}`)
  } else {
    lines.push('  no targets: nothing to do')
  }
  for (const o of plan.ops.slice(0, opsShown)) lines.push(`  +${f(o.at).padStart(7)}  ${o.op.padEnd(5)} ${o.target}`)
  if (plan.ops.length > opsShown) lines.push(`  ... ${plan.ops.length - opsShown} more`)
  return lines
}
