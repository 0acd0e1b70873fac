/** `patchday down`: stop every process of a run: SIGTERM, then SIGKILL after the grace period. */
import { LocalRuntime } from '../runtime/local.ts'
import { runningNames } from '../runtime/runtime.ts'
import type { RunDir } from '../run-dir.ts'
import { openJournal } from '../journal.ts'

export const STOP_PARALLEL_MAX = 64

export interface DownResult { stopped: number, killed: number, strays: number }

export async function stopRun (run: RunDir, graceMs: number): Promise<DownResult> {
  const runtime = new LocalRuntime(run)
  const names = [...await runningNames(runtime)]
  // Peers first, the login server last: peers leaving say goodbye to supernodes, not to it.
  names.sort((a, b) => Number(a === 'login') - Number(b === 'login'))
  let stopped = 0; let killed = 0
  for (let i = 0; i < names.length; i += STOP_PARALLEL_MAX) {
    const outcomes = await Promise.all(names.slice(i, i + STOP_PARALLEL_MAX).map(async n => await runtime.stop(n, graceMs)))
    stopped += outcomes.filter(o => o === 'stopped').length
    killed += outcomes.filter(o => o === 'killed').length
  }
  // Processes no record names (an orchestrator killed between spawn and record): found by their run id.
  const strays = await runtime.strays()
  const s = await LocalRuntime.stopPids(strays, graceMs)
  const result = { stopped: stopped + s.stopped, killed: killed + s.killed, strays: strays.length }
  openJournal(run.logFile('orchestrator'), run.runId).event('net.down', { stopped: result.stopped, killed: result.killed })
  return result
}
