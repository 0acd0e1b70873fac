/**
 * The runtime of a run, by name: `--runtime` at `up`/`run`, recorded in
 * run.json and read back by every later command (status, storm, down, ...).
 */
import type { RunDir } from '../run/dir.ts'
import { UsageError } from '../errors.ts'
import { RESTART_MODES, RUNTIME_KINDS, type RestartMode, type Runtime, type RuntimeKind } from './runtime.ts'
import { LocalRuntime } from './local.ts'
import { ComposeRuntime } from './compose.ts'
import { SwarmRuntime } from './swarm.ts'

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

type Factory = (run: RunDir, restartMode: RestartMode) => Runtime
const factories: Partial<Record<RuntimeKind, Factory>> = {
  local: run => new LocalRuntime(run),
  compose: (run, restartMode) => new ComposeRuntime(run, { restartMode }),
  swarm: (run, restartMode) => new SwarmRuntime(run, { restartMode })
}

/** The runtime `kind` (with `restartMode`), or the one recorded in the run's run.json. */
export async function openRuntime (run: RunDir, kind?: RuntimeKind, restartMode?: RestartMode): Promise<Runtime> {
  let k = kind
  let mode = restartMode
  if (k === undefined) {
    const meta = await run.readMeta()
    k = parseRuntimeKind(meta.runtime)
    mode = meta.restartMode ?? RECORDED_BEFORE_MODES[k]
  }
  const factory = factories[k]
  if (factory === undefined) throw new UsageError(`runtime ${k} is not available in this build`)
  return factory(run, checkRestartMode(k, mode))
}
