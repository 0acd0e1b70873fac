/**
 * `patchday attach`: adopt a network that `docker compose up` started (the
 * top-level compose.yaml) as a run folder like any other, so that status, logs,
 * storm, report and down work on it. Attaching again refreshes the container
 * list (after a `--scale` change) and keeps the logs collected so far.
 */
import type { Command } from 'commander'
import { adoptComposeProject, type AttachArgs } from '../runtime/compose-attach.ts'
import { openRuntime } from '../runtime/index.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

export interface AttachResult { runId: string, project: string, peers: number, running: number }

export async function attach (a: AttachArgs): Promise<AttachResult> {
  const { run, project, peers } = await adoptComposeProject(a)
  const runtime = await openRuntime(run)
  await runtime.syncLogs()
  const running = (await runtime.list()).filter(p => p.running).length
  return { runId: run.runId, project, peers, running }
}

interface AttachOptions { project?: string, runId?: string, json: boolean }

export const attachCommand = defineCommand({
  name: 'attach',
  description: 'adopt a network that `docker compose up` started (the top-level compose.yaml) as a run: status, logs, storm, report and down then work on it',
  options: cmd => cmd
    .option('--project <name>', 'compose project (default: the only one running patchday containers)')
    .option('--run-id <id>', 'name of the run folder (default: the project name)')
    .option('--json', 'print the result as JSON', false),
  action: async (o: AttachOptions, cmd: Command) => {
    const r = await attach({ runsDir: runsDir(cmd), ...(o.project !== undefined ? { project: o.project } : {}), ...(o.runId !== undefined ? { runId: o.runId } : {}) })
    process.stdout.write(o.json ? JSON.stringify(r) + '\n' : `${r.runId}: compose project ${r.project}, ${r.peers} peers, ${r.running} containers running\n`)
  }
})
