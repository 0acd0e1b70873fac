/** `patchday storm`: a reboot storm on a network that is already up. */
import type { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { newSeed } from '../../node/contract/rng.ts'
import { resolveRun, type RunDir } from '../run/dir.ts'
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
import { parseStormInput } from '../storm/spec.ts'
import { UsageError } from '../errors.ts'
import { parseCount, parseShare } from '../units.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

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

interface StormOptions {
  run?: string
  targets?: string
  share?: string
  shape?: string
  window?: string
  waves?: string
  waveWindow?: string
  gap?: string
  shutdown: string
  grace: string
  bootDelay: string
  id: string
  seed?: string
  json: boolean
}

export const stormCommand = defineCommand({
  name: 'storm',
  description: 'a reboot storm on the running network (durations in emulated time: the run\'s time scale applies)',
  options: cmd => cmd
    .option('--run <id>', 'run id (default: the current run)')
    .option('--targets <spec>', 'all | peers | supernodes | fraction:x | n | count:n | p-001,p-007 | supernodes,fraction:0.5')
    .option('--share <x>', 'shorthand for --targets fraction:x')
    .option('--shape <shape>', 'all-at-once | uniform | waves (default: uniform with --window, else all-at-once)')
    .option('--window <duration>', 'the stops spread uniformly over this window')
    .option('--waves <n>', 'with --shape waves: number of groups')
    .option('--wave-window <duration>', 'with --shape waves: each group\'s window')
    .option('--gap <duration>', 'with --shape waves: pause between groups')
    .option('--shutdown <mode>', 'graceful (SIGTERM, then SIGKILL after --grace) or power-cut (SIGKILL)', 'graceful')
    .option('--grace <duration>', 'real time a process gets to exit after SIGTERM', '5s')
    .option('--boot-delay <delay>', 'each target restarts after: 5s | 2s..8s | exp(5s, 1s..30s) | normal(10s, 3s, 2s..20s)', '0s')
    .option('--id <id>', 'storm id in the journal', 'storm')
    .option('--seed <seed>', 'seed for targets, times and delays (printed when not given)')
    .option('--json', 'print the result as JSON', false),
  action: async (o: StormOptions, cmd: Command) => {
    if (o.targets !== undefined && o.share !== undefined) throw new UsageError('give --targets or --share, not both')
    const targets = o.share !== undefined ? `fraction:${parseShare(o.share, '--share')}` : o.targets ?? 'all'
    // The same input a scenario's storm gives, checked by the same schema.
    const input: Record<string, unknown> = { targets, shutdown: o.shutdown, grace: o.grace, bootDelay: o.bootDelay, id: o.id }
    input.shape = o.shape ?? (o.window !== undefined ? 'uniform' : 'all-at-once')
    if (o.window !== undefined) input.window = o.window
    if (o.waves !== undefined) input.waves = parseCount(o.waves, '--waves', 1, 48)
    if (o.waveWindow !== undefined) input.waveWindow = o.waveWindow
    if (o.gap !== undefined) input.gap = o.gap
    const spec = parseStormInput(input, o.id)
    const run = await resolveRun(runsDir(cmd), o.run)
    const r = await storm(run, spec, o.seed, o.json)
    if (o.json) process.stdout.write(JSON.stringify({ stormId: r.stormId, seed: r.seed, ok: r.ok, failed: r.failed, skipped: r.skipped, aborted: r.aborted }) + '\n')
    if (r.failed > 0) process.exitCode = 1
  }
})
