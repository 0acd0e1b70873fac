/**
 * The runtime of a run, by name: `--runtime` at `up`/`run`, recorded in
 * run.json and read back by every later command (status, storm, down, ...).
 */
import type { RunDir } from '../run/dir.ts'
import { UsageError } from '../errors.ts'
import { NETWORK_MODES, RESTART_MODES, RUNTIME_KINDS, type NetworkMode, type RestartMode, type Runtime, type RuntimeKind } from './runtime.ts'
import { LocalRuntime } from './local.ts'
import { ComposeRuntime } from './compose.ts'
import { SwarmRuntime } from './swarm.ts'
import { projectName } from './compose.ts'
import { RUN_LABEL } from './compose-file.ts'
import { dockerAnswers } from './census.ts'
import { dockerClient } from './docker/engine.ts'
import { dockerStateFile, readDockerStateRecord } from './docker/state.ts'
import type Docker from 'dockerode'

export function parseRuntimeKind (value: string): RuntimeKind {
  const kind = RUNTIME_KINDS.find(k => k === value)
  if (kind === undefined) throw new UsageError(`--runtime must be one of ${RUNTIME_KINDS.join(', ')}, got ${JSON.stringify(value)}`)
  return kind
}

export function parseRestartMode (value: string): RestartMode {
  const mode = RESTART_MODES.find(k => k === value)
  if (mode === undefined) throw new UsageError(`--restart-mode must be one of ${RESTART_MODES.join(', ')}, got ${JSON.stringify(value)}`)
  return mode
}

export function parseNetworkMode (value: string): NetworkMode {
  const mode = NETWORK_MODES.find(k => k === value)
  if (mode === undefined) throw new UsageError(`--network must be one of ${NETWORK_MODES.join(', ')}, got ${JSON.stringify(value)}`)
  return mode
}

/**
 * `mode` for runtime `kind`, or a usage error: only compose has the host network (Swarm's
 * tasks need its overlay network and DNS; local processes have no container network at all).
 * Undefined for local (no container network), else the mode, bridge by default.
 */
export function checkNetworkMode (kind: RuntimeKind, mode: NetworkMode | undefined): NetworkMode | undefined {
  if (mode === 'host' && kind !== 'compose') {
    throw new UsageError(`--network host is only available with --runtime compose, not ${kind} (${kind === 'swarm' ? 'Swarm tasks need their overlay network' : 'local peers already run on the host\'s loopback addresses'})`)
  }
  if (kind === 'local') return undefined
  return mode ?? 'bridge'
}

/**
 * The restart modes each runtime has; the first is its default. Swarm restarts processes by
 * default: a task whose container is stopped and started through the engine is dead to Swarm,
 * and a well-known one (login server, bootstrap supernode) loses its DNS name.
 */
const MODES: Record<RuntimeKind, readonly RestartMode[]> = {
  local: ['process'],
  compose: ['container', 'process'],
  swarm: ['process', 'container']
}

/**
 * What a run.json without `restartMode` restarted: it was written before the modes existed
 * (or by `attach`), when every container runtime restarted containers.
 */
const RECORDED_BEFORE_MODES: Record<RuntimeKind, RestartMode> = { local: 'process', compose: 'container', swarm: 'container' }

/** `mode` for runtime `kind`, or a usage error saying which runtime has it. */
export function checkRestartMode (kind: RuntimeKind, mode: RestartMode | undefined): RestartMode {
  const modes = MODES[kind]
  if (mode === undefined) return modes[0] as RestartMode
  if (!modes.includes(mode)) {
    throw new UsageError(`--restart-mode ${mode} is not available with --runtime ${kind} (local peers are processes, restarted as such); the compose and swarm runtimes have both container and process`)
  }
  return mode
}

type Factory = (run: RunDir, restartMode: RestartMode, network: NetworkMode | undefined) => Runtime
const factories: Partial<Record<RuntimeKind, Factory>> = {
  local: run => new LocalRuntime(run),
  compose: (run, restartMode, network) => new ComposeRuntime(run, { restartMode, ...(network !== undefined ? { network } : {}) }),
  swarm: (run, restartMode) => new SwarmRuntime(run, { restartMode })
}

/**
 * The runtime `kind` (with `restartMode` and `network`), or the one recorded in the run's run.json
 * (a run.json without `network` was written before the host network existed: bridge).
 */
export async function openRuntime (run: RunDir, kind?: RuntimeKind, restartMode?: RestartMode, network?: NetworkMode): Promise<Runtime> {
  let k = kind
  let mode = restartMode
  let net = network
  if (k === undefined) {
    const meta = await run.readMeta()
    k = parseRuntimeKind(meta.runtime)
    mode = meta.restartMode ?? RECORDED_BEFORE_MODES[k]
    net = meta.network
  }
  const factory = factories[k]
  if (factory === undefined) throw new UsageError(`runtime ${k} is not available in this build`)
  return factory(run, checkRestartMode(k, mode), checkNetworkMode(k, net))
}

/** A runtime of `kind` for a run whose restart mode may be anything (teardown does not depend on it, nor on the network). */
function anyMode (run: RunDir, kind: RuntimeKind, mode: string | undefined, network?: string): Runtime {
  const modes = MODES[kind]
  const net = kind === 'compose' ? NETWORK_MODES.find(m => m === network) : undefined
  return (factories[kind] as Factory)(run, modes.find(m => m === mode) ?? modes[0] as RestartMode, net)
}

/** Whether this engine manages a swarm with a stack of the run (its services carry the stack's name). */
async function swarmStackOf (docker: Docker, run: RunDir): Promise<boolean> {
  const info = await docker.info() as { Swarm?: { LocalNodeState?: string, ControlAvailable?: boolean } }
  if (info.Swarm?.LocalNodeState !== 'active' || info.Swarm.ControlAvailable !== true) return false
  return (await docker.listServices({ filters: { label: [`com.docker.stack.namespace=${projectName(run.runId)}`] } })).length > 0
}

/** Containers, networks and volumes carrying `label`. */
async function labelledCount (docker: Docker, label: string): Promise<number> {
  const filters = { label: [label] }
  const [c, n, v] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })])
  return c.length + n.length + (v.Volumes ?? []).length
}

export interface RunRuntimes {
  runtimes: Runtime[]
  /**
   * When run.json cannot say which runtime the run used: what is wrong with it (and with docker.json), and
   * what the runtimes above look for instead; null when it can. It says all there is to say about the
   * records: the runtimes' own `recordProblem` adds nothing then.
   */
  unknown: { problem: string, lookingFor: string } | null
}

/**
 * The runtimes that hold a run, for `down` and `status`: the one run.json names, or, when
 * run.json is missing, unreadable or names no known runtime, every one that may
 * hold something of the run: the local runtime (processes found by their run
 * id) and, only if a Docker engine answers, the container runtimes (the one
 * docker.json names, else a sweep by the run's label, and a Swarm stack of the
 * run where this engine manages one). Never throws for what the records hold.
 */
export async function openRunRuntimes (run: RunDir, o: { docker?: Docker, answers?: () => Promise<boolean> } = {}): Promise<RunRuntimes> {
  const meta = await run.readMetaRecord()
  const kind = meta.ok ? RUNTIME_KINDS.find(k => k === meta.value.runtime) : undefined
  if (meta.ok && kind !== undefined) return { runtimes: [anyMode(run, kind, meta.value.restartMode, meta.value.network)], unknown: null }
  const why = meta.ok ? `names no known runtime (${JSON.stringify(meta.value.runtime.slice(0, 24))})` : `is ${meta.problem}`
  const runtimes: Runtime[] = [new LocalRuntime(run)]
  const docker = o.docker ?? dockerClient()
  const containers = await readDockerStateRecord(run)
  let how: string
  if (containers?.ok === true) {
    // docker.json says which container runtime: its teardown needs the engine, and fails (not everything stopped) without it.
    runtimes.push(anyMode(run, containers.value.kind, undefined, containers.value.network))
    how = `, and its containers as docker.json says (${containers.value.kind})`
  } else if (await (o.answers ?? (async () => await dockerAnswers(docker)))()) {
    const label = `${RUN_LABEL}=${run.runId}`
    const stack = await swarmStackOf(docker, run)
    if (stack) runtimes.push(new SwarmRuntime(run, {}, docker))
    const labelled = await labelledCount(docker, label)
    if (labelled > 0) runtimes.push(new ComposeRuntime(run, {}, docker))
    how = labelled > 0 || stack
      ? `, and its containers, networks and volumes by the label ${label}${stack ? ' (and its Swarm stack)' : ''}`
      : `; the Docker engine has nothing labelled ${label}`
  } else {
    how = ' (no Docker engine answers: no containers looked for)'
  }
  const alsoDocker = containers?.ok === false ? ` and ${dockerStateFile(run)} is ${containers.problem}` : ''
  return { runtimes, unknown: { problem: `${run.metaFile} ${why}${alsoDocker}, so the runtime of run ${run.runId} is unknown`, lookingFor: `its processes found by run id${how}` } }
}
