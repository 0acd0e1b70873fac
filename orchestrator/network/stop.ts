/** `patchday down`: stop and remove everything of a run through its runtime, with or without records. */
import type { RunDir } from '../run/dir.ts'
import { openJournal } from '../run/journal.ts'
import { openRuntime } from '../runtime/index.ts'
import type { Runtime, TeardownResult } from '../runtime/runtime.ts'

export async function stopRun (run: RunDir, graceMs: number, runtimeIn?: Runtime): Promise<TeardownResult> {
  const runtime = runtimeIn ?? await openRuntime(run)
  // What the processes printed up to the end belongs to the run's logs.
  await runtime.syncLogs().catch((err: unknown) => { process.stderr.write(`patchday: logs not brought up to date before teardown: ${(err as Error).message}\n`) })
  const result = await runtime.teardown(graceMs)
  openJournal(run.logFile('orchestrator'), run.runId).event('net.down', { stopped: result.stopped, killed: result.killed })
  return result
}
