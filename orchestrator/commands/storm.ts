/** `patchday storm`: a reboot storm on a network that is already up. */
import { randomBytes } from 'node:crypto'
import { newSeed } from '../../node/contract/rng.ts'
import type { RunDir } from '../run/dir.ts'
import { openRuntime } from '../runtime/index.ts'
import { readNetworkFile } from '../network/spec-file.ts'
import { openJournal } from '../run/journal.ts'
import { HostMonitor } from '../runtime/host-monitor.ts'
import { Watcher } from '../network/start.ts'
import { Progress } from '../progress.ts'
import { runStorm } from '../storm/run.ts'
import { interruptible } from '../network/launch.ts'
import type { StormSpec } from '../storm/plan.ts'
import type { StormResult } from '../storm/execute.ts'

export async function storm (run: RunDir, spec: StormSpec, seedArg: string | undefined, quiet: boolean): Promise<StormResult & { seed: string }> {
  const meta = await run.readMeta()
  const network = await readNetworkFile(run)
  const runtime = await openRuntime(run)
  await runtime.syncLogs()
  const watcher = new Watcher(run)
  await watcher.poll()
  const seed = seedArg ?? newSeed(() => randomBytes(8))
  const progress = new Progress({ quiet })
  progress.line(`storm ${spec.id} on run ${run.runId}, seed ${seed} (durations are emulated; time scale ${meta.timeScale})`)
  const journal = openJournal(run.logFile('orchestrator'), run.runId)
  const monitor = new HostMonitor(journal)
  monitor.start()
  const logs = new AbortController()
  const collecting = runtime.collectLogs(logs.signal)
  try {
    const result = await interruptible(async signal => await runStorm({ run, runtime, journal, network, state: watcher.state, spec, seed, timeScale: meta.timeScale, progress, signal }))
    progress.done()
    progress.line(`storm ${spec.id}: ${result.ok} ops ok, ${result.failed} failed${result.aborted ? ', interrupted (stopped peers were restarted)' : ''}`)
    return { ...result, seed }
  } finally {
    monitor.stop()
    logs.abort()
    await collecting
  }
}
