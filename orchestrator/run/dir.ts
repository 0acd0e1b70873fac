/**
 * One folder per run (Testground): runs/<run-id>/ holds run.json (what was
 * started, with the seed), accounts.json, peers/<name>/ (each peer's state
 * directory: identity, credentials, host cache, boot count), logs/<name>.log
 * (its pino lines), and whatever its runtime keeps there (the local runtime's
 * process records in pids/, a container runtime's docker.json).
 * runs/current names the run that `status`, `logs` and `down` act on by default.
 */
import { mkdir, readFile, writeFile, rename, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { z } from 'zod'
import { RunNotFoundError, UnreadableRecordError } from '../errors.ts'
import { readRecord, type RecordRead } from './record.ts'
import { ARM_FILE_NAME } from '../../node/contract/armed.ts'

export const RunMeta = z.object({
  version: z.literal(1),
  runId: z.string(),
  seed: z.string(),
  runtime: z.string(),
  /** Whether storms restart containers or the peer process inside them (absent: written before the modes, when container runtimes restarted containers). */
  restartMode: z.enum(['container', 'process']).optional(),
  /** Container runtimes: the containers' network (absent: written before the host network existed, or local: bridge for containers). */
  network: z.enum(['bridge', 'host']).optional(),
  createdAt: z.string(),
  timeScale: z.number(),
  /** Every peer of the plan; `late`: joins later in the run (a scenario's `joins`), not started by `up`. */
  peers: z.array(z.object({ name: z.string(), bootstrap: z.boolean(), capacityClass: z.number(), late: z.boolean().optional() })),
  login: z.object({ name: z.string(), addr: z.string() })
})
export type RunMeta = z.infer<typeof RunMeta>

/** A run.json larger than this is not one (1,000 peers take about 80 KB). */
export const RUN_META_BYTES_MAX = 16 << 20

export function defaultRunsDir (): string {
  return resolve(process.env.PATCHDAY_RUNS_DIR ?? 'runs')
}

export class RunDir {
  readonly root: string
  readonly runId: string
  constructor (runsDir: string, runId: string) {
    this.root = join(runsDir, runId)
    this.runId = runId
  }

  get metaFile (): string { return join(this.root, 'run.json') }
  get accountsFile (): string { return join(this.root, 'accounts.json') }
  get logsDir (): string { return join(this.root, 'logs') }
  /** Files the orchestrator provisions for the processes (container runtimes mount it as CONTAINER_CONFIG_DIR). */
  get configDir (): string { return join(this.root, 'config') }
  /** Created when the scenario's faults are armed (node/contract/armed.ts); peers poll for it. */
  get armFile (): string { return join(this.configDir, ARM_FILE_NAME) }
  stateDir (name: string): string { return join(this.root, 'peers', name) }
  logFile (name: string): string { return join(this.logsDir, `${name}.log`) }
  errFile (name: string): string { return join(this.logsDir, `${name}.err`) }

  async create (): Promise<void> {
    await mkdir(this.logsDir, { recursive: true })
    await mkdir(join(this.root, 'peers'), { recursive: true })
  }

  async writeMeta (meta: RunMeta): Promise<void> {
    await writeJsonAtomic(this.metaFile, meta)
  }

  /** run.json, or an UnreadableRecordError that says in one line what is wrong with it. */
  async readMeta (): Promise<RunMeta> {
    const read = await this.readMetaRecord()
    if (read.ok) return read.value
    throw new UnreadableRecordError(`run ${this.runId}: ${this.metaFile} is ${read.problem}; 'patchday down --run ${this.runId}' still stops everything of it`)
  }

  /** run.json or what is wrong with it (missing included); never throws. */
  async readMetaRecord (): Promise<RecordRead<RunMeta>> {
    return await readRecord(this.metaFile, RunMeta, 'a run record', RUN_META_BYTES_MAX) ?? { ok: false, problem: 'missing' }
  }
}

export async function writeJsonAtomic (path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(value, null, 2))
  await rename(`${path}.tmp`, path)
}

const CURRENT = 'current'

export async function setCurrentRun (runsDir: string, runId: string): Promise<void> {
  await mkdir(runsDir, { recursive: true })
  await writeFile(join(runsDir, `${CURRENT}.tmp`), runId + '\n')
  await rename(join(runsDir, `${CURRENT}.tmp`), join(runsDir, CURRENT))
}

/**
 * The run named, or the current one; a clear error when there is none. A run is
 * a folder with a run.json (readable or not: commands that need it say what is
 * wrong with it); with `withoutMeta` (for `down`), also a folder that lost its
 * run.json but holds another record of a run.
 */
export async function resolveRun (runsDir: string, runId?: string, o: { withoutMeta?: boolean } = {}): Promise<RunDir> {
  let id = runId
  if (id === undefined) {
    try {
      id = (await readFile(join(runsDir, CURRENT), 'utf8')).trim()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      throw new RunNotFoundError(`no run in ${runsDir}: start one with 'patchday up'`)
    }
  }
  const dir = new RunDir(runsDir, id)
  if (existsSync(dir.metaFile) || (o.withoutMeta === true && hasRunRecords(dir.root))) return dir
  throw new RunNotFoundError(`run ${id} not found in ${runsDir}`)
}

/** What only a run folder holds besides run.json: the local runtime's pid records, a container runtime's record, the network's specs. */
const RUN_RECORDS = ['pids', 'docker.json', 'network.json']

function hasRunRecords (root: string): boolean {
  return RUN_RECORDS.some(f => existsSync(join(root, f)))
}

/**
 * Run folders: those with a run.json (not the compile cache, not sweep folders);
 * with `withoutMeta` (`down --all`), also those that lost it but hold another record of a run.
 */
export async function listRuns (runsDir: string, o: { withoutMeta?: boolean } = {}): Promise<string[]> {
  let names
  try {
    names = await readdir(runsDir, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const runs: string[] = []
  for (const d of names) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue
    const root = join(runsDir, d.name)
    if (existsSync(join(root, 'run.json')) || (o.withoutMeta === true && hasRunRecords(root))) runs.push(d.name)
  }
  return runs.sort()
}
