/**
 * Runs a storm plan through the Runtime interface and journals it (Jepsen):
 * `storm.plan` first, then for every op `storm.op` invoked, then ok or failed,
 * each with `plannedMs` (ms after the storm's start, as planned) and `lateMs`
 * (how much later than planned the op was invoked), and `storm.end` last.
 *
 * The plan's times are taken as real ms: plan scenario storms in emulated ms,
 * then `scalePlan(plan, timeScale)`.
 *
 * - At most `concurrencyMax` ops run at once; an op waiting for a free slot runs
 *   late, and its `lateMs` says so (that is the point of journalling lateness:
 *   a storm the host could not deliver on time is visible as such).
 * - For one target, its start waits until its stop has finished, however late.
 * - Every runtime call has a timeout (`opTimeoutMs`); a call that times out is
 *   journalled failed (the runtime call itself cannot be cancelled).
 * - A failed stop is still followed by its start: the target is most likely
 *   running still, and then the start fails and is journalled; a target is never
 *   left down because its stop went wrong.
 * - Abort (`signal`): no further op is dispatched; ops already dispatched run to
 *   their end (a half-done stop is worse than a finished one). By default
 *   (`onAbort: 'restart-stopped'`) every target that was stopped and not yet
 *   restarted is started at once, so an interrupted storm never leaves peers
 *   down; these starts are journalled with their planned time and a negative
 *   `lateMs` (they ran early). With `onAbort: 'leave-stopped'` they stay down
 *   and the result lists them in `leftStopped`. Remaining ops are `skipped`.
 */
import type { EventName, EventPayloads } from '../../node/contract/events.ts'
import type { ProcessSpec, ProcessControl, StopOutcome } from '../runtime/runtime.ts'
import type { StormOp, StormPlan } from './plan.ts'
import { realClock, type StormClock } from './clock.ts'

/** The journal the executor writes to (orchestrator/journal.ts's Journal satisfies it). */
export interface StormJournal {
  event: <E extends EventName>(ev: E, fields: EventPayloads[E]) => void
}

export const STORM_CONCURRENCY_MAX = 8
/** An op's timeout, by default: the plan's grace (a stop may use all of it) plus this. */
export const STORM_OP_TIMEOUT_EXTRA_MS = 15_000

export interface ExecuteOptions {
  /** The process spec (environment) to start a target with. */
  specFor: (name: string) => ProcessSpec
  /** What a restart restarts, for the journal (and so the report). */
  restartMode?: 'process' | 'container'
  /** Ops running at once; default STORM_CONCURRENCY_MAX. */
  concurrencyMax?: number
  /** Per runtime call; default plan.graceMs + STORM_OP_TIMEOUT_EXTRA_MS. */
  opTimeoutMs?: number
  signal?: AbortSignal
  /** Default 'restart-stopped' (see the module comment). */
  onAbort?: 'restart-stopped' | 'leave-stopped'
  onProgress?: (p: StormProgress) => void
  clock?: StormClock
}

export interface OpRecord {
  op: StormOp
  status: 'ok' | 'failed' | 'skipped'
  /** Absent for skipped ops. */
  lateMs?: number
  /** What a stop or kill found (stopped, killed, absent). */
  outcome?: StopOutcome
  error?: string
  /** A start run early because the storm was aborted. */
  healing: boolean
}

export interface StormProgress {
  done: number
  total: number
  ok: number
  failed: number
  last: OpRecord
}

export interface StormResult {
  stormId: string
  ok: number
  failed: number
  skipped: number
  aborted: boolean
  /** Targets stopped and not restarted (only with onAbort 'leave-stopped'). */
  leftStopped: string[]
  /** In completion order. */
  records: OpRecord[]
}

class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  private readonly max: number
  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrencyMax must be a whole number of at least 1, got ${max}`)
    this.max = max
  }

  async acquire (): Promise<void> {
    if (this.active < this.max) { this.active++; return }
    await new Promise<void>(resolve => { this.waiting.push(resolve) })
  }

  /** Hands the slot to the next waiter, if any. */
  release (): void {
    const next = this.waiting.shift()
    if (next !== undefined) next()
    else this.active--
  }
}

type Timed<T> = { timedOut: false, value: T } | { timedOut: true }

async function withTimeout<T> (work: Promise<T>, ms: number, clock: StormClock): Promise<Timed<T>> {
  const cancel = new AbortController()
  const timer = clock.sleep(ms, cancel.signal).then((elapsed): Timed<T> | Promise<never> =>
    // Aborted only after the race is decided: this branch is never observed.
    elapsed ? { timedOut: true } : new Promise<never>(() => {}))
  try {
    return await Promise.race([work.then((value): Timed<T> => ({ timedOut: false, value })), timer])
  } finally {
    cancel.abort()
  }
}

function errorText (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

export async function executeStorm (plan: StormPlan, runtime: ProcessControl, journal: StormJournal, o: ExecuteOptions): Promise<StormResult> {
  const clock = o.clock ?? realClock
  const limiter = new Limiter(o.concurrencyMax ?? STORM_CONCURRENCY_MAX)
  const timeoutMs = o.opTimeoutMs ?? plan.graceMs + STORM_OP_TIMEOUT_EXTRA_MS
  const stormId = plan.stormId
  const records: OpRecord[] = []
  let ok = 0
  let failed = 0
  const finish = (r: OpRecord): void => {
    records.push(r)
    if (r.status === 'ok') ok++
    if (r.status === 'failed') failed++
    o.onProgress?.({ done: records.length, total: plan.ops.length, ok, failed, last: r })
  }

  journal.event('storm.plan', { stormId, ops: plan.ops.length, targets: plan.targets.length, windowMs: plan.windowMs, shape: plan.spec.shape.kind, seed: plan.seed, ...(o.restartMode !== undefined ? { restartMode: o.restartMode } : {}) })
  const t0 = clock.now()

  const invoke = async (op: StormOp): Promise<StopOutcome | undefined> => {
    switch (op.op) {
      case 'stop': return await runtime.stop(op.target, plan.graceMs)
      case 'kill': return await runtime.kill(op.target)
      case 'start': await runtime.start(o.specFor(op.target)); return undefined
    }
  }

  const run = async (op: StormOp, healing: boolean): Promise<void> => {
    await limiter.acquire()
    try {
      const lateMs = Math.round(clock.now() - t0 - op.at)
      const base = { stormId, op: op.op, target: op.target, plannedMs: op.at, lateMs }
      journal.event('storm.op', { ...base, status: 'invoked' })
      let error: string | undefined
      let outcome: StopOutcome | undefined
      try {
        const r = await withTimeout(invoke(op), timeoutMs, clock)
        if (r.timedOut) error = `timed out after ${timeoutMs}ms`
        else outcome = r.value
      } catch (err) {
        // A failed runtime call is an outcome of the storm, journalled, not a crash of the orchestrator.
        error = errorText(err)
      }
      if (error === undefined) {
        journal.event('storm.op', { ...base, status: 'ok' })
        finish({ op, status: 'ok', lateMs, healing, ...(outcome === undefined ? {} : { outcome }) })
      } else {
        journal.event('storm.op', { ...base, status: 'failed', error })
        finish({ op, status: 'failed', lateMs, healing, error })
      }
    } finally {
      limiter.release()
    }
  }

  const chains = new Map<string, Promise<void>>()
  /** Targets whose stop was dispatched and whose start was not. */
  const down = new Set<string>()
  const dispatch = (op: StormOp, healing: boolean): void => {
    if (op.op === 'start') down.delete(op.target)
    else down.add(op.target)
    const prev = chains.get(op.target) ?? Promise.resolve()
    chains.set(op.target, prev.then(async () => { await run(op, healing) }))
  }

  const aborted = (): boolean => o.signal?.aborted === true
  let next = 0
  for (; next < plan.ops.length; next++) {
    const op = plan.ops[next] as StormOp
    const due = t0 + op.at
    while (!aborted() && clock.now() < due) await clock.sleep(due - clock.now(), o.signal)
    if (aborted()) break
    dispatch(op, false)
  }

  let skipped = 0
  for (const op of plan.ops.slice(next)) {
    if (op.op === 'start' && down.has(op.target) && (o.onAbort ?? 'restart-stopped') === 'restart-stopped') {
      dispatch(op, true)
    } else {
      skipped++
      finish({ op, status: 'skipped', healing: false })
    }
  }
  await Promise.all(chains.values())
  journal.event('storm.end', { stormId, ok, failed })
  return { stormId, ok, failed, skipped, aborted: next < plan.ops.length, leftStopped: [...down].sort(), records }
}
