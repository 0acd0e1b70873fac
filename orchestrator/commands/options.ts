/** Option helpers shared by the commands: declarations, their parsers, and the global `--runs-dir`. */
import type { Command } from 'commander'
import { parseSetting, type PeerConfig } from '../../node/contract/config.ts'
import { defaultRunsDir } from '../run/dir.ts'
import { checkNetworkMode, checkRestartMode, parseNetworkMode, parseRestartMode, parseRuntimeKind } from '../runtime/index.ts'
import type { NetworkMode, RestartMode, RuntimeKind } from '../runtime/runtime.ts'
import { UsageError } from '../errors.ts'
import { parseCount, parseDuration } from '../units.ts'

/** A repeatable option's parser: every value, in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value]

/** A comma list's parser: `a, b,,c` is ['a', 'b', 'c']. */
export const list = (value: string): string[] => value.split(',').map(s => s.trim()).filter(s => s !== '')

/** `--set key=value` pairs as peer settings (each checked as the peer would check its variable). */
export function settingsFrom (pairs: string[]): Partial<PeerConfig> {
  const out: Record<string, unknown> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new UsageError(`--set expects key=value, got ${JSON.stringify(pair)}`)
    const [key, value] = parseSetting(pair.slice(0, eq), pair.slice(eq + 1))
    out[key] = value
  }
  return out as Partial<PeerConfig>
}

/** What `withStartupOptions` declares, as commander hands it over. */
export interface StartupOptions { timeout: string, bootingMax: string }

/** Declares `--timeout` (with its help text) and `--booting-max`: every command that brings a network up takes both. */
export function withStartupOptions (cmd: Command, timeoutHelp: string): Command {
  return cmd
    .option('--timeout <duration>', timeoutHelp, '5m')
    .option('--booting-max <n>', 'processes booting at once', '8')
}

/** `--timeout` and `--booting-max`, parsed. */
export function startupOptions (o: StartupOptions): { deadlineMs: number, bootingMax: number } {
  return { deadlineMs: parseDuration(o.timeout, '--timeout'), bootingMax: parseCount(o.bootingMax, '--booting-max', 1, 256) }
}

/** What `withRuntimeOption` declares. */
export interface RuntimeOption { runtime: string, restartMode?: string, network?: string }

const RUNTIME_HELP = 'where the processes run: local (processes on this machine), compose (a container each, Docker Compose), swarm (a Docker Swarm stack)'

/** Declares `--runtime <kind>` (default local), `--restart-mode` and `--network`. */
export function withRuntimeOption (cmd: Command): Command {
  return cmd
    .option('--runtime <kind>', RUNTIME_HELP, 'local')
    .option('--restart-mode <mode>', RESTART_MODE_HELP)
    .option('--network <mode>', NETWORK_HELP)
}

const NETWORK_HELP = 'the containers\' network, --runtime compose only: bridge (the default: a Docker network of the run\'s own, every container its own address) or host (every container on this host\'s network stack, each process on its own 127.x loopback address as local peers are: about a third of the engine\'s CPU per container start, but it shares the local runtime\'s addresses, so it is refused while a local network or another host-network run is up)'

const RESTART_MODE_HELP = 'what a storm restarts in containers: process (the peer process inside its running container, by a signal; the default with swarm) or container (docker stop/start of the whole container; the default with compose; with swarm a restarted login server or bootstrap supernode loses its DNS name). Local peers are always restarted as processes'

/** `--restart-mode`, parsed and checked against `--runtime` (undefined: the runtime's default). */
export function restartModeOption (o: RuntimeOption): RestartMode | undefined {
  if (o.restartMode === undefined) return undefined
  return checkRestartMode(runtimeOption(o), parseRestartMode(o.restartMode))
}

/** `--network`, parsed and checked against `--runtime` (undefined: local, which has no container network). */
export function networkOption (o: RuntimeOption): NetworkMode | undefined {
  return checkNetworkMode(runtimeOption(o), o.network === undefined ? undefined : parseNetworkMode(o.network))
}

/** `--runtime`, parsed. */
export function runtimeOption (o: RuntimeOption): RuntimeKind {
  return parseRuntimeKind(o.runtime)
}

/** The program's global `--runs-dir`, else PATCHDAY_RUNS_DIR or ./runs. */
export function runsDir (cmd: Command): string {
  const o = cmd.optsWithGlobals<{ runsDir?: string }>()
  return o.runsDir ?? defaultRunsDir()
}
