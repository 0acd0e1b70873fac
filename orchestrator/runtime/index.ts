/**
 * The runtime of a run, by name: `--runtime` at `up`/`run`, recorded in
 * run.json and read back by every later command (status, storm, down, ...).
 */
import type { RunDir } from '../run/dir.ts'
import { UsageError } from '../errors.ts'
import { RUNTIME_KINDS, type Runtime, type RuntimeKind } from './runtime.ts'
import { LocalRuntime } from './local.ts'
import { ComposeRuntime } from './compose.ts'
import { SwarmRuntime } from './swarm.ts'

export function parseRuntimeKind (value: string): RuntimeKind {
  const kind = RUNTIME_KINDS.find(k => k === value)
  if (kind === undefined) throw new UsageError(`--runtime must be one of ${RUNTIME_KINDS.join(', ')}, got ${JSON.stringify(value)}`)
  return kind
}

type Factory = (run: RunDir) => Runtime
const factories: Partial<Record<RuntimeKind, Factory>> = {
  local: run => new LocalRuntime(run),
  compose: run => new ComposeRuntime(run),
  swarm: run => new SwarmRuntime(run)
}

/** The runtime `kind`, or the one recorded in the run's run.json. */
export async function openRuntime (run: RunDir, kind?: RuntimeKind): Promise<Runtime> {
  const k = kind ?? parseRuntimeKind((await run.readMeta()).runtime)
  const factory = factories[k]
  if (factory === undefined) throw new UsageError(`runtime ${k} is not available in this build`)
  return factory(run)
}
