/**
 * A scenario's join (population growth between patch days): late peers of the
 * plan, provisioned with everyone at the start, make their first boots now,
 * spread evenly over `over` as `up` spreads its ramp, through the runtime as a
 * storm's restarts and injections are. Runs beside the timeline: a storm at the
 * same moment is not held up by it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { ProcessSpec, Runtime } from '../runtime/runtime.ts'
import type { Journal } from '../run/journal.ts'

/** When the k-th (0-based) of n joiners starts, ms after the join's start: evenly over `overMs`, the first at once. */
export function joinOffsetMs (k: number, n: number, overMs: number): number {
  return n === 0 ? 0 : Math.round(k * overMs / n)
}

export interface JoinArgs {
  runtime: Pick<Runtime, 'start'>
  journal: Pick<Journal, 'event'>
  /** The joiners, in the order they start. */
  names: readonly string[]
  /** Real ms over which their starts spread. */
  overMs: number
  specFor: (name: string) => ProcessSpec
  /** Called as each joiner's process has been started (before its first boot event). */
  onStarted: (name: string) => void
  signal?: AbortSignal
}

export interface JoinResult {
  started: string[]
  failed: Array<{ name: string, error: string }>
  /** The run was interrupted before every joiner started. */
  aborted: boolean
}

/** Journals the join, then starts each joiner at its time. Never rejects: a start that fails is reported in the result. */
export async function runJoin (a: JoinArgs): Promise<JoinResult> {
  const out: JoinResult = { started: [], failed: [], aborted: false }
  a.journal.event('join', { names: [...a.names], overMs: a.overMs })
  const t0 = Date.now()
  for (const [k, name] of a.names.entries()) {
    const wait = t0 + joinOffsetMs(k, a.names.length, a.overMs) - Date.now()
    try {
      if (wait > 0) await sleep(wait, undefined, a.signal !== undefined ? { signal: a.signal } : {})
      a.signal?.throwIfAborted()
    } catch {
      out.aborted = true
      return out
    }
    try {
      await a.runtime.start(a.specFor(name))
      out.started.push(name)
      a.onStarted(name)
    } catch (err) {
      out.failed.push({ name, error: err instanceof Error ? err.message : String(err) })
    }
  }
  return out
}
