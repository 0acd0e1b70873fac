/**
 * `patchday check <scenario>`: validate a scenario and print its plan without
 * starting anything, and say whether this host can run it faithfully (its
 * storms' restarts against the cores), with the smallest timeScale that fits.
 * A sweep's plan follows: its shares and load values, what each value sets in its
 * cells and the offered load it puts on the login server.
 */
import type { Command } from 'commander'
import { availableParallelism } from 'node:os'
import { loadScenarioFile } from '../scenario/load.ts'
import { checkScenario, formatCheck, type HostCosts } from '../scenario/check.ts'
import { planSweep, formatSweepPlan } from '../sweep/plan.ts'
import { checkRestartMode } from '../runtime/index.ts'
import type { NetworkMode, RestartMode, RuntimeKind } from '../runtime/runtime.ts'
import { UsageError } from '../errors.ts'
import { defineCommand } from './command.ts'
import { networkOption, restartModeOption, runtimeOption, withRuntimeOption, type RuntimeOption } from './options.ts'

/** Host CPU of one peer's boot, as measured here (BENCHMARKS.md: 0.37-0.49 s median, 50-200 peers). */
export const PEER_BOOT_CPU_S = 0.45
/** Host CPU of one container start on a compose bridge network (npm run bench:engine: 1.43 s on this 2-core host). */
export const CONTAINER_START_CPU_S = 1.4
/** The same with the host network (`--network host`; npm run bench:engine: 0.48 s on this host). */
export const CONTAINER_START_HOST_CPU_S = 0.5
/** Share of the cores a storm's restarts may take and still run on time. */
export const STORM_UTILIZATION = 0.7

/** CPU per restart: a peer's boot, plus the engine's work when the storm restarts whole containers (less on the host network). */
export function restartCpuS (runtime: RuntimeKind, mode: RestartMode, network: NetworkMode = 'bridge'): number {
  if (runtime === 'local' || mode !== 'container') return PEER_BOOT_CPU_S
  return PEER_BOOT_CPU_S + (network === 'host' ? CONTAINER_START_HOST_CPU_S : CONTAINER_START_CPU_S)
}

interface CheckOptions extends RuntimeOption { seed?: string, cores?: string, restartCpu?: string, json?: boolean }

function positive (text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined
  const x = Number(text)
  if (!(x > 0) || !Number.isFinite(x)) throw new UsageError(`${what}: a positive number, got ${JSON.stringify(text)}`)
  return x
}

export const checkCommand = defineCommand({
  name: 'check',
  description: 'validate a scenario and print its plan without starting anything; say whether this host runs its storms on time',
  options: cmd => {
    cmd
      .argument('<scenario>', 'scenario file, e.g. scenarios/skype-2007.yaml')
      .option('--seed <seed>', 'override the scenario\'s seed')
      .option('--cores <n>', 'cores to plan for (default: this host\'s)')
      .option('--restart-cpu <seconds>', `host CPU per restart (default: ${PEER_BOOT_CPU_S} s for a peer process, ${PEER_BOOT_CPU_S + CONTAINER_START_CPU_S} s for a container restart, ${PEER_BOOT_CPU_S + CONTAINER_START_HOST_CPU_S} s with --network host)`)
      .option('--json', 'print the check as JSON')
    return withRuntimeOption(cmd)
  },
  action: async (file: string, o: CheckOptions, _cmd: Command) => {
    const loaded = await loadScenarioFile(file, o.seed !== undefined ? { seed: o.seed } : {})
    const runtime = runtimeOption(o)
    const mode = checkRestartMode(runtime, restartModeOption(o))
    const network = networkOption(o)
    const host: HostCosts = {
      cores: positive(o.cores, '--cores') ?? availableParallelism(),
      restartCpuS: positive(o.restartCpu, '--restart-cpu') ?? restartCpuS(runtime, mode, network),
      utilization: STORM_UTILIZATION
    }
    const k = checkScenario(loaded.compiled, host)
    const sweep = planSweep(loaded.scenario, loaded.seed)
    process.stdout.write(o.json === true
      ? JSON.stringify({ ...k, host, runtime, restartMode: mode, ...(network !== undefined ? { network } : {}), ...(sweep !== null ? { sweep } : {}) }, null, 2) + '\n'
      : formatCheck(k, host, `${runtime}, ${mode} restarts${network === 'host' ? ', host network' : ''}`) + '\n' + (sweep !== null ? formatSweepPlan(sweep) + '\n' : ''))
  }
})
