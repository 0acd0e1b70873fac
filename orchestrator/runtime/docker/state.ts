/**
 * runs/<id>/docker.json: what a container runtime must remember between
 * commands (the orchestrator may exit while the network runs on): the compose
 * project, which containers are which peer, the lab subnet, and how to find
 * everything of the run again by label.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { type RunDir, writeJsonAtomic } from '../../run/dir.ts'
import { RuntimeError } from '../../errors.ts'

export const DockerState = z.object({
  version: z.literal(1),
  kind: z.enum(['compose', 'swarm']),
  /** Compose project or stack name. */
  project: z.string(),
  /** The label (`key=value`) every container and network of the run carries. */
  label: z.string(),
  compose: z.enum(['v1', 'v2']),
  /** The compose file and its folder (null for a network attached without one). */
  composeFile: z.string().nullable(),
  workingDir: z.string(),
  subnet: z.string(),
  image: z.string(),
  /** Peer name -> container id (compose) or service/slot key (swarm). */
  containers: z.record(z.string(), z.string()),
  /** Started by hand (`docker compose up`) and adopted with `patchday attach`: settings live in the compose file. */
  attached: z.boolean(),
  /** Host folder of env.json (run-started networks). */
  configDir: z.string().nullable()
})
export type DockerState = z.infer<typeof DockerState>

const FILE = 'docker.json'

export function dockerStateFile (run: RunDir): string {
  return join(run.root, FILE)
}

export async function readDockerState (run: RunDir): Promise<DockerState | null> {
  let text: string
  try {
    text = await readFile(dockerStateFile(run), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const parsed = DockerState.safeParse(JSON.parse(text))
  if (!parsed.success) throw new RuntimeError(`${dockerStateFile(run)} is not a valid container record (${parsed.error.issues[0]?.message ?? 'unknown'}); 'patchday down' still removes everything labelled ${'patchday.run'}=${run.runId}`)
  return parsed.data
}

export async function writeDockerState (run: RunDir, s: DockerState): Promise<void> {
  await writeJsonAtomic(dockerStateFile(run), s)
}
