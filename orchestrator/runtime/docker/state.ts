/**
 * runs/<id>/docker.json: what a container runtime must remember between
 * commands (the orchestrator may exit while the network runs on): the compose
 * project, which containers are which peer, the lab subnet, and how to find
 * everything of the run again by label.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { type RunDir, writeJsonAtomic } from '../../run/dir.ts'
import { UnreadableRecordError } from '../../errors.ts'
import { readRecord, type RecordRead } from '../../run/record.ts'
import { RUN_LABEL } from '../compose-file.ts'

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
  /** The lab subnet of the run's bridge network; empty with the host network. */
  subnet: z.string(),
  /** The containers' network (absent: written before the host network existed, when every run had a bridge). */
  network: z.enum(['bridge', 'host']).optional(),
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

/** A docker.json larger than this is not one (a container id per peer: about 100 KB for 1,000 peers). */
export const DOCKER_STATE_BYTES_MAX = 16 << 20

/** docker.json: null when there is none, else the record or what is wrong with it (never throws). */
export async function readDockerStateRecord (run: RunDir): Promise<RecordRead<DockerState> | null> {
  return await readRecord(dockerStateFile(run), DockerState, 'a container record', DOCKER_STATE_BYTES_MAX)
}

/** The words for an unusable docker.json, and what `down` does about it. */
export function dockerStateProblem (run: RunDir, problem: string): string {
  return `${dockerStateFile(run)} is ${problem}; 'patchday down' still removes everything labelled ${RUN_LABEL}=${run.runId}`
}

/** docker.json, or null when there is none; an UnreadableRecordError when it is unusable. */
export async function readDockerState (run: RunDir): Promise<DockerState | null> {
  const read = await readDockerStateRecord(run)
  if (read === null) return null
  if (!read.ok) throw new UnreadableRecordError(dockerStateProblem(run, read.problem))
  return read.value
}

export async function writeDockerState (run: RunDir, s: DockerState): Promise<void> {
  await writeJsonAtomic(dockerStateFile(run), s)
}
