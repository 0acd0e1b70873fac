/** `patchday down`: stop every process of a run (or of every run) and remove its containers, networks and volumes. */
import type { Command } from 'commander'
import { listRuns, resolveRun, RunDir } from '../run/dir.ts'
import { stopRun } from '../network/stop.ts'
import { parseDuration } from '../units.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

interface DownOptions { run?: string, all: boolean, grace: string }

export const downCommand = defineCommand({
  name: 'down',
  description: 'stop every process of the run (SIGTERM, then SIGKILL after the grace period), found by run id whatever its records look like, and remove its containers, networks and volumes',
  options: cmd => cmd
    .option('--run <id>', 'run id (default: the current run)')
    .option('--all', 'every run in the runs folder', false)
    .option('--grace <duration>', 'time between SIGTERM and SIGKILL', '5s'),
  action: async (o: DownOptions, cmd: Command) => {
    const dir = runsDir(cmd)
    const graceMs = parseDuration(o.grace, '--grace')
    const runs = o.all ? (await listRuns(dir)).map(id => new RunDir(dir, id)) : [await resolveRun(dir, o.run)]
    for (const run of runs) {
      const r = await stopRun(run, graceMs)
      process.stdout.write(`${run.runId}: stopped ${r.stopped}, killed ${r.killed}${r.strays > 0 ? ` (${r.strays} found without a record)` : ''}${r.removed > 0 ? `, removed ${r.removed} containers and networks` : ''}\n`)
    }
  }
})
