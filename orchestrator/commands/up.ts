/** `patchday up`: provision a run, start the login server and N peers, return once steady. */
import type { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { newSeed } from '../../node/contract/rng.ts'
import type { PeerConfig } from '../../node/contract/config.ts'
import { planNetwork, PEERS_MAX, type NetworkOptions } from '../network/plan.ts'
import { Progress } from '../progress.ts'
import { launch, interruptible, newRunId } from '../network/launch.ts'
import type { NetworkSummary } from '../analysis/state.ts'
import type { NetworkMode, RestartMode, RuntimeKind } from '../runtime/runtime.ts'
import { UsageError } from '../errors.ts'
import { parseCount, parseShare } from '../units.ts'
import { defineCommand } from './command.ts'
import { collect, networkOption, restartModeOption, runsDir, runtimeOption, settingsFrom, startupOptions, withRuntimeOption, withStartupOptions, type RuntimeOption, type StartupOptions } from './options.ts'

export interface UpArgs {
  runsDir: string
  peers: number
  seed?: string
  runId?: string
  bootstrap?: number
  capableShare?: number
  settings: Partial<PeerConfig>
  steadyShare: number
  deadlineMs: number
  bootingMax: number
  keepOnFailure: boolean
  json: boolean
  runtime?: RuntimeKind
  restartMode?: RestartMode
  network?: NetworkMode
}

export interface UpResult { runId: string, seed: string, summary: NetworkSummary, elapsedMs: number }

export async function up (a: UpArgs): Promise<UpResult> {
  const seed = a.seed ?? newSeed(() => randomBytes(8))
  const opts: NetworkOptions = { peers: a.peers, seed, settings: a.settings }
  if (a.bootstrap !== undefined) opts.bootstrap = a.bootstrap
  if (a.capableShare !== undefined) opts.capableShare = a.capableShare
  const plan = planNetwork(opts)
  const runId = a.runId ?? newRunId(seed)
  const progress = new Progress({ quiet: a.json })
  return await interruptible(async (signal) => {
    const l = await launch({ runsDir: a.runsDir, runId, plan, perPeer: {}, steadyShare: a.steadyShare, deadlineMs: a.deadlineMs, bootingMax: a.bootingMax, keepOnFailure: a.keepOnFailure, ...(a.runtime !== undefined ? { runtime: a.runtime } : {}), ...(a.restartMode !== undefined ? { restartMode: a.restartMode } : {}), ...(a.network !== undefined ? { network: a.network } : {}), signal }, progress)
    // `up` returns while the network runs on; host samples are taken while an orchestrator watches (run, storm).
    l.monitor.stop()
    await l.stopLogs()
    return { runId, seed, summary: l.summary, elapsedMs: l.elapsedMs }
  })
}

interface UpOptions extends StartupOptions, RuntimeOption {
  peers: string
  seed?: string
  runId?: string
  bootstrap?: string
  capableShare: string
  set: string[]
  steadyShare: string
  keepOnFailure: boolean
  json: boolean
}

export const upCommand = defineCommand({
  name: 'up',
  description: 'start the login server and N peer processes on this machine; returns once the network is steady (refused, exit 2, while another local network runs: see ps)',
  options: cmd => {
    cmd
      .requiredOption('--peers <n>', `number of peers (1..${PEERS_MAX})`)
      .option('--seed <seed>', 'seed for every random choice (printed when not given)')
      .option('--run-id <id>', 'name of the run folder (default: time and seed)')
      .option('--bootstrap <n>', 'bootstrap supernodes (default: enough slots for all peers plus 20%)')
      .option('--capable-share <x>', 'share of peers eligible for supernode election (0..1)', '0.3')
      .option('--set <key=value>', 'a peer setting for every peer, e.g. slotsMax=20 (repeatable; see docs/config.md)', collect, [])
      .option('--steady-share <x>', 'share of peers online that counts as steady (0..1)', '0.95')
    withRuntimeOption(cmd)
    withStartupOptions(cmd, 'give up (and stop everything) when not steady by then')
    return cmd
      .option('--keep-on-failure', 'leave the processes running when start-up fails (for inspection)', false)
      .option('--json', 'print the result as JSON', false)
  },
  action: async (o: UpOptions, cmd: Command) => {
    // Checked in this order, so that an error names the first bad option.
    const args: UpArgs = {
      runsDir: runsDir(cmd),
      peers: parseCount(o.peers, '--peers', 1, PEERS_MAX),
      settings: settingsFrom(o.set),
      capableShare: parseShare(o.capableShare, '--capable-share'),
      steadyShare: parseShare(o.steadyShare, '--steady-share'),
      ...startupOptions(o),
      keepOnFailure: o.keepOnFailure,
      json: o.json,
      runtime: runtimeOption(o),
      ...(restartModeOption(o) !== undefined ? { restartMode: restartModeOption(o) } : {}),
      ...(networkOption(o) !== undefined ? { network: networkOption(o) } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.runId !== undefined ? { runId: o.runId } : {}),
      ...(o.bootstrap !== undefined ? { bootstrap: parseCount(o.bootstrap, '--bootstrap', 1, PEERS_MAX) } : {})
    }
    if (args.seed !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(args.seed)) throw new UsageError('--seed: letters, digits, . _ - only (1..64)')
    const r = await up(args)
    if (args.json) process.stdout.write(JSON.stringify({ runId: r.runId, seed: r.seed, elapsedMs: r.elapsedMs, ...r.summary }) + '\n')
    else process.stdout.write(`${r.runId}\n`)
  }
})
