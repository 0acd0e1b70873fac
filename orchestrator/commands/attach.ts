/**
 * `patchday attach`: adopt a network that `docker compose up` started (the
 * top-level compose.yaml) as a run folder like any other, so that status, logs,
 * storm, report and down work on it. Attaching again refreshes the container
 * list (after a `--scale` change) and keeps the logs collected so far.
 */
import { adoptComposeProject, type AttachArgs } from '../runtime/compose-attach.ts'
import { openRuntime } from '../runtime/index.ts'

export interface AttachResult { runId: string, project: string, peers: number, running: number }

export async function attach (a: AttachArgs): Promise<AttachResult> {
  const { run, project, peers } = await adoptComposeProject(a)
  const runtime = await openRuntime(run)
  await runtime.syncLogs()
  const running = (await runtime.list()).filter(p => p.running).length
  return { runId: run.runId, project, peers, running }
}
