/** `patchday down`: stop and remove everything of a run through its runtime, with or without records. */
import { existsSync } from 'node:fs'
import type { RunDir } from '../run/dir.ts'
import { openJournal } from '../run/journal.ts'
import { openRunRuntimes } from '../runtime/index.ts'
import type { Runtime, TeardownResult } from '../runtime/runtime.ts'
import { RuntimeError } from '../errors.ts'

export interface StopResult extends TeardownResult {
  /** One line each about records that could not be used (run.json, docker.json) and what was done instead. */
  notes: string[]
}

/**
 * Stop everything of `run` with its runtime (`runtimeIn`, else the one its
 * run.json names, else every runtime that may hold something of it). Throws
 * only when something could not be stopped.
 */
export async function stopRun (run: RunDir, graceMs: number, runtimeIn?: Runtime): Promise<StopResult> {
  const { runtimes, unknown } = runtimeIn !== undefined ? { runtimes: [runtimeIn], unknown: null } : await openRunRuntimes(run)
  const notes = unknown === null ? [] : [`${unknown.problem}: stopping ${unknown.lookingFor}`]
  const total: StopResult = { stopped: 0, killed: 0, strays: 0, removed: 0, notes }
  const failures: string[] = []
  // Every runtime gets its turn: one that fails (an engine gone) must not keep the others from stopping theirs.
  for (const runtime of runtimes) {
    // What the processes printed up to the end belongs to the run's logs (while the run has a folder).
    if (existsSync(run.root)) await runtime.syncLogs().catch((err: unknown) => { process.stderr.write(`patchday: logs not brought up to date before teardown: ${(err as Error).message}\n`) })
    try {
      const r = await runtime.teardown(graceMs)
      total.stopped += r.stopped
      total.killed += r.killed
      total.strays += r.strays
      total.removed += r.removed
    } catch (err) {
      if (runtimes.length === 1) throw err
      failures.push(`${runtime.name}: ${(err as Error).message}`)
    }
    const problem = unknown === null ? await runtime.recordProblem?.() : null
    if (problem !== undefined && problem !== null) notes.push(problem)
  }
  // A run folder that is gone (deleted under a running network) is not made again for one line.
  if (existsSync(run.root)) openJournal(run.logFile('orchestrator'), run.runId).event('net.down', { stopped: total.stopped, killed: total.killed })
  if (failures.length > 0) throw new RuntimeError(`run ${run.runId} not stopped completely: ${failures.join('; ')}`)
  return total
}
