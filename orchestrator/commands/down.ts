/** `patchday down`: stop every process of a run (or of every run) and remove its containers, networks and volumes. */
import type { Command } from 'commander'
import { listRuns, resolveRun, RunDir } from '../run/dir.ts'
import { stopRun } from '../network/stop.ts'
import { parseDuration } from '../units.ts'
import { RunNotFoundError, RuntimeError } from '../errors.ts'
import { localNetworks } from '../runtime/local-networks.ts'
import { existsSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

interface DownOptions { run?: string, all: boolean, grace: string }

/** Local networks running from a folder of `dir` that is gone (deleted while they ran): only their run id finds them. */
async function orphans (dir: string): Promise<string[]> {
  return (await localNetworks()).filter(n => dirname(resolve(n.runDir)) === resolve(dir) && !existsSync(n.runDir)).map(n => basename(n.runDir))
}

/** The runs `down` stops: every run folder of `dir` with a record of a run (`--all`), or the one named or current; with either, networks whose folder is gone. */
async function runsToStop (dir: string, o: DownOptions): Promise<RunDir[]> {
  if (o.all) return [...new Set([...await listRuns(dir, { withoutMeta: true }), ...await orphans(dir)])].sort().map(id => new RunDir(dir, id))
  try {
    return [await resolveRun(dir, o.run, { withoutMeta: true })]
  } catch (err) {
    if (!(err instanceof RunNotFoundError) || o.run === undefined || !(await orphans(dir)).includes(o.run)) throw err
    process.stderr.write(`patchday: ${join(dir, o.run)} is gone, but processes of run ${o.run} started from it run: stopping them by run id\n`)
    return [new RunDir(dir, o.run)]
  }
}

export const downCommand = defineCommand({
  name: 'down',
  description: 'stop every process of the run (SIGTERM, then SIGKILL after the grace period), found by run id whatever its records look like (pid files, run.json, docker.json), and remove its containers, networks and volumes',
  options: cmd => cmd
    .option('--run <id>', 'run id (default: the current run)')
    .option('--all', 'every run in the runs folder', false)
    .option('--grace <duration>', 'time between SIGTERM and SIGKILL', '5s'),
  action: async (o: DownOptions, cmd: Command) => {
    const dir = runsDir(cmd)
    const graceMs = parseDuration(o.grace, '--grace')
    const runs = await runsToStop(dir, o)
    let failed: unknown = null
    for (const run of runs) {
      try {
        const r = await stopRun(run, graceMs)
        for (const note of r.notes) process.stderr.write(`patchday: ${note}\n`)
        process.stdout.write(`${run.runId}: stopped ${r.stopped}, killed ${r.killed}${r.strays > 0 ? ` (${r.strays} found without a record)` : ''}${r.removed > 0 ? `, removed ${r.removed} containers and networks` : ''}\n`)
      } catch (err) {
        // One run that cannot be stopped must not keep `down --all` from the others; the command still fails.
        if (runs.length === 1) throw err
        process.stderr.write(`patchday: ${run.runId}: ${(err as Error).message}\n`)
        failed = err
      }
    }
    if (failed !== null) throw new RuntimeError('not every run was stopped (see above)')
  }
})
