/**
 * One Runtime interface, a backend per environment (Testground): local
 * processes now, Docker Compose and Swarm later. Storms and analysis talk only
 * to this interface; everything environment-specific stays in the backend.
 */
export interface ProcessSpec {
  /** Peer name in the run (`p-017`, `login`). */
  name: string
  /** PATCHDAY_* settings for the process. */
  env: Record<string, string>
}

export interface ProcessStatus {
  name: string
  running: boolean
  pid?: number
}

export type StopOutcome = 'stopped' | 'killed' | 'absent'

/** Names of the processes that are running now (one `list()`). */
export async function runningNames (runtime: Pick<Runtime, 'list'>): Promise<Set<string>> {
  return new Set((await runtime.list()).filter(p => p.running).map(p => p.name))
}

export interface Runtime {
  readonly name: string
  /** Start a process (or restart one that is not running). Returns once it is spawned, not once it is ready. */
  start: (spec: ProcessSpec) => Promise<void>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop: (name: string, graceMs: number) => Promise<StopOutcome>
  /** SIGKILL at once: a power cut. */
  kill: (name: string) => Promise<StopOutcome>
  list: () => Promise<ProcessStatus[]>
  /** Where the process's pino lines land (the orchestrator reads them from there). */
  logFile: (name: string) => string
}
