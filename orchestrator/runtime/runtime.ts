/**
 * One Runtime interface, a backend per environment (Testground's runners):
 * local processes, Docker Compose, Docker Swarm. Everything environment-specific
 * lives behind it: where a process listens and how others dial it, how its
 * state and secrets reach it, starting and stopping it, filling its log file,
 * explaining why it exited, and tearing the whole run down. Storms, scenarios
 * and analysis talk only to this interface.
 */
import type { Journal } from '../run/journal.ts'

export const RUNTIME_KINDS = ['local', 'compose', 'swarm'] as const
export type RuntimeKind = typeof RUNTIME_KINDS[number]

/** What a storm's stop and start act on: the peer process, or the whole container it runs in. */
export const RESTART_MODES = ['container', 'process'] as const
export type RestartMode = typeof RESTART_MODES[number]

/**
 * How a compose run's containers are networked: `bridge`, a network of the run's own (DNS names,
 * an address each); `host`, the host's network stack, each process on its own 127.x address
 * as local processes are (a third of the engine's CPU per container start).
 */
export const NETWORK_MODES = ['bridge', 'host'] as const
export type NetworkMode = typeof NETWORK_MODES[number]

export interface ProcessSpec {
  /** Peer name in the run (`p-017`, `login`). */
  name: string
  /** PATCHDAY_* settings for the process, its wiring (state dir, addresses) included. */
  env: Record<string, string>
  /** Which part of the plan it is: container runtimes give the login server and bootstrap supernodes services of their own. */
  role?: EndpointRequest['group'] | 'bootstrap'
}

export interface ProcessStatus {
  name: string
  running: boolean
  /** What the runtime knows the process by: a pid, a container id. */
  id?: string
  /** The runtime's record of it is unusable (an empty pid file): what is wrong, for `status` to report. */
  problem?: string
}

export type StopOutcome = 'stopped' | 'killed' | 'absent'

/** Where a process listens and what others dial to reach it. */
export interface Endpoint {
  listenHost: string
  /** An IP address or a DNS name (`/dns4/` then); null when only the process itself knows (it announces its own address). */
  dialHost: string | null
  port: number
}

/** One process of the plan, as the runtime sees it. */
export interface EndpointRequest {
  name: string
  group: 'login' | 'peer' | 'reserve'
  /** 1-based index within its group. */
  index: number
  /** Bootstrap supernodes (and the login server) must be dialable before anyone boots. */
  wellKnown: boolean
}

/** How provisioned identities and accounts reach the processes. */
export type SecretsMode = 'files' | 'lab-secret'

export interface TeardownResult {
  stopped: number
  killed: number
  /** Things of the run found without a record (processes by run id, containers or networks by label). */
  strays: number
  /** Containers, networks, volumes removed (container runtimes). */
  removed: number
}

export interface Runtime {
  readonly name: RuntimeKind
  /** Local processes read files from the run folder; containers get identities derived from a lab secret. */
  readonly secrets: SecretsMode
  /** Restarts act on whole containers or on the peer process inside its container (reported with a storm). */
  readonly restartMode: RestartMode
  /** Container runtimes: the containers' network (recorded in run.json); undefined for local processes. */
  readonly networkMode?: NetworkMode
  endpoint: (p: EndpointRequest) => Endpoint
  /** The PATCHDAY_* wiring keys of a process (state dir, listen and announce addresses, secrets), part of its spec. */
  wiring: (p: EndpointRequest) => Record<string, string>
  /**
   * Before anything of a new run is written: refuse (an error with exit code 2) when what the run
   * needs is taken, e.g. the local runtime's loopback addresses by a network that runs.
   */
  checkAvailable?: () => Promise<void>
  /** Once per run, before the first start, with every process the run may start: image, network, containers created. */
  prepare: (specs: ProcessSpec[]) => Promise<void>
  /** Start a process (or restart one that is not running). Returns once it is started, not once it is ready. */
  start: (spec: ProcessSpec) => Promise<void>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop: (name: string, graceMs: number) => Promise<StopOutcome>
  /** SIGKILL at once: a power cut. */
  kill: (name: string) => Promise<StopOutcome>
  list: () => Promise<ProcessStatus[]>
  /** Bring runs/<id>/logs/<name>.log up to date once (what processes printed while nobody watched). */
  syncLogs: () => Promise<void>
  /** Keep the log files filled until the signal aborts (a no-op where processes write the files themselves). */
  collectLogs: (signal: AbortSignal) => Promise<void>
  /** Why `name` is not running: exit code and the last lines of its error output. */
  explainExit: (name: string) => Promise<string>
  /** Journal the engine's own record of starts and deaths (container runtimes) until the signal aborts. */
  watchEvents?: (journal: Pick<Journal, 'event'>, signal: AbortSignal) => Promise<void>
  /** Stop and remove everything of this run, with or without a record of it; idempotent. */
  teardown: (graceMs: number) => Promise<TeardownResult>
  /**
   * A network with no reserve (one `docker compose up` started, then attached): add process
   * `name`, made like the running process `like` with `env` laid over its settings; it is
   * created, not started. False for a run whose reserve was provisioned at its start.
   */
  addLike?: (name: string, like: string, env: Record<string, string>) => Promise<boolean>
  /** What is wrong with the runtime's own record of the run (a container runtime's docker.json), for `status` and `down` to say; null when nothing is. */
  recordProblem?: () => Promise<string | null>
}

/** What a storm needs of a runtime: start, stop, kill and list processes (tests fake just this). */
export type ProcessControl = Pick<Runtime, 'start' | 'stop' | 'kill' | 'list'>

/** Names of the processes that are running now (one `list()`). */
export async function runningNames (runtime: Pick<Runtime, 'list'>): Promise<Set<string>> {
  return new Set((await runtime.list()).filter(p => p.running).map(p => p.name))
}
