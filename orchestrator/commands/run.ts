/**
 * `patchday run <scenario>`: up, warm-up, the timeline (storms, injections, joins),
 * observation, report, down. The seed is printed first; the same seed and
 * scenario give the same network, plans and peer randomness.
 */
import type { Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRng } from '../../node/contract/rng.ts'
import { loadScenarioFile, type LoadedScenario } from '../scenario/load.ts'
import { toRealMs, type CompiledScenario } from '../scenario/compile.ts'
import { launch, interruptible, newRunId } from '../network/launch.ts'
import { Watcher, describe } from '../network/start.ts'
import { Progress } from '../progress.ts'
import { runStorm } from '../storm/run.ts'
import { injectSupernodes } from '../network/inject.ts'
import { runJoin, type JoinResult } from '../network/join.ts'
import { peersNow } from '../network/plan.ts'
import { UsageError } from '../errors.ts'
import { CrashRestarter } from '../storm/crash-restart.ts'
import { specFor, readNetworkFile } from '../network/spec-file.ts'
import { stopRun } from '../network/stop.ts'
import { armFaults } from '../network/arm.ts'
import { writeReport, formatSummary, type Report, type ReportInit } from '../analysis/report.ts'
import { formatDuration } from '../units.ts'
import type { StormResult } from '../storm/execute.ts'
import type { NetworkMode, RestartMode, RuntimeKind } from '../runtime/runtime.ts'
import { defineCommand } from './command.ts'
import { networkOption, restartModeOption, runsDir, runtimeOption, startupOptions, withRuntimeOption, withStartupOptions, type RuntimeOption, type StartupOptions } from './options.ts'

export interface RunArgs {
  runsDir: string
  file: string
  seed?: string
  runId?: string
  deadlineMs: number
  bootingMax: number
  keep: boolean
  quiet: boolean
  /** Where the processes run (default local). */
  runtime?: RuntimeKind
  restartMode?: RestartMode
  /** Compose: the containers' network (default bridge). */
  network?: NetworkMode
}

export const TICK_MS = 250
/** Grace for the processes stopped after the report. */
const STOP_GRACE_MS = 5000

export function reportInitFor (c: CompiledScenario): ReportInit {
  const v = c.verdict
  if (v === undefined) return {}
  return { verdict: { ...(v.recoveredShare !== undefined ? { recoverShare: v.recoveredShare } : {}), ...(v.metastableShare !== undefined ? { floorShare: v.metastableShare } : {}) } }
}

export interface RunOutcome { runId: string, seed: string, report: Report, expect: string | null, loaded: LoadedScenario }

export async function runScenario (a: RunArgs, loadedIn?: LoadedScenario): Promise<RunOutcome> {
  const loaded = loadedIn ?? await loadScenarioFile(a.file, a.seed !== undefined ? { seed: a.seed } : {})
  const c = loaded.compiled
  const progress = new Progress({ quiet: a.quiet })
  progress.line(`scenario ${c.name}: seed ${loaded.seed} (${loaded.seedSource}); warm-up ${formatDuration(toRealMs(c.warmupMs, c.timeScale))}, observe ${formatDuration(toRealMs(c.observeMs, c.timeScale))} real`)
  const runId = a.runId ?? newRunId(`${c.name}-${loaded.seed}`)
  // Swarm starts every peer task at deploy: a late peer would be there from the start.
  if (a.runtime === 'swarm' && c.timeline.some(e => e.kind === 'join')) throw new UsageError(`scenario ${c.name} has joins, which the swarm runtime cannot hold back (it starts every peer at deploy): use --runtime local or compose`)
  return await interruptible(async (signal) => {
    const l = await launch({ runsDir: a.runsDir, runId, plan: c.network, perPeer: c.applied.perPeer, steadyShare: 0.95, deadlineMs: a.deadlineMs, bootingMax: a.bootingMax, keepOnFailure: false, rampUpMs: toRealMs(c.rampUpMs, c.timeScale), ...(a.runtime !== undefined ? { runtime: a.runtime } : {}), ...(a.restartMode !== undefined ? { restartMode: a.restartMode } : {}), ...(a.network !== undefined ? { network: a.network } : {}), signal }, progress)
    const { run, runtime, journal, network } = l
    const watcher = new Watcher(run)
    const crash = c.crashRestart === undefined
      ? null
      : new CrashRestarter({ runtime, journal, rng: createRng(`${loaded.seed}/crash-restart`), delay: c.crashRestart, timeScale: c.timeScale, specFor: name => specFor(run, network, runtime, name) })
    const storms: Array<Promise<StormResult>> = []
    const joins: Array<Promise<JoinResult>> = []
    // Late peers (a scenario's joins) that their join has not started yet: no storm may hit them.
    const notJoined = new Set(c.network.peers.filter(p => p.late === true).map(p => p.name))
    const peersNowCount = (): number => peersNow(c.network.peers, name => !notJoined.has(name))
    let report: Report | undefined
    try {
      // Faults a real network carried for months must not fire while this one forms from nothing.
      const arm = async (): Promise<void> => {
        const said = await armFaults(run, journal, c)
        if (said !== null) progress.line(said)
      }
      if (c.armFaults === 'steady') await arm()
      journal.event('run.phase', { phase: 'warmup', scenario: c.name })
      const tick = async (label: string): Promise<void> => {
        for (const e of await watcher.poll()) crash?.observe(e)
        await crash?.tick()
        progress.update(`${label}: ${describe(watcher.state.summary(peersNowCount()))}`)
        await sleep(TICK_MS, undefined, { signal })
      }
      const warmupEnd = Date.now() + toRealMs(c.warmupMs, c.timeScale)
      while (Date.now() < warmupEnd) await tick(`warm-up, ${formatDuration(warmupEnd - Date.now())} left`)
      if (c.armFaults === 'warmup-end') await arm()
      const t0 = Date.now()
      // A scenario without storms or injections (calm, or only joins) goes straight to observation: no storm phase to mistake for one.
      const disturbed = c.timeline.some(e => e.kind !== 'join')
      journal.event('run.phase', { phase: disturbed ? 'storm' : 'observe', scenario: c.name })
      const end = t0 + toRealMs(c.observeMs, c.timeScale)
      const pending = [...c.timeline]
      let observing = !disturbed
      while (Date.now() < end) {
        while (pending.length > 0 && Date.now() - t0 >= toRealMs(pending[0]?.atMs ?? 0, c.timeScale)) {
          const entry = pending.shift()
          if (entry === undefined) break
          if (entry.kind === 'storm') {
            progress.line(`storm ${entry.storm.id} at +${formatDuration(Date.now() - t0)}`)
            storms.push(runStorm({ run, runtime, journal, network, state: watcher.state, spec: entry.storm, seed: `${loaded.seed}/${entry.storm.id}`, timeScale: c.timeScale, progress, notJoined, signal }))
          } else if (entry.kind === 'join') {
            const overMs = toRealMs(entry.overMs, c.timeScale)
            progress.line(`join: ${entry.names.length} peers at +${formatDuration(Date.now() - t0)} over ${formatDuration(overMs)} (${entry.names[0] ?? ''}..${entry.names[entry.names.length - 1] ?? ''})`)
            joins.push(runJoin({ runtime, journal, names: entry.names, overMs, specFor: name => specFor(run, network, runtime, name), onStarted: name => { notJoined.delete(name) }, signal }).then(r => {
              for (const f of r.failed) progress.line(`join: ${f.name} did not start: ${f.error}`)
              return r
            }))
          } else {
            const names = await injectSupernodes(run, runtime, journal, entry.count, entry.slots)
            Object.assign(network.perPeer, (await readNetworkFile(run)).perPeer)
            progress.line(`injected ${names.length} dedicated supernodes with ${entry.slots} slots at +${formatDuration(Date.now() - t0)}`)
          }
        }
        // Joins go on beside the observation (they end within it): only the storms are waited for.
        if (!observing && !pending.some(e => e.kind !== 'join')) {
          await Promise.all(storms)
          observing = true
          journal.event('run.phase', { phase: 'observe', scenario: c.name })
        }
        await tick(`${observing ? 'observing' : 'storm'}, ${formatDuration(end - Date.now())} left`)
      }
      journal.event('run.phase', { phase: 'done', scenario: c.name })
      progress.done()
    } finally {
      await Promise.allSettled([...storms, ...joins])
      l.monitor.stop()
      await l.stopLogs()
      try {
        await runtime.syncLogs()
        report = await writeReport(run.root, reportInitFor(c))
      } finally {
        if (!a.keep) await stopRun(run, STOP_GRACE_MS, runtime)
      }
    }
    progress.line(formatSummary(report))
    progress.line(`report: ${run.root}/report.html`)
    return { runId, seed: loaded.seed, report, expect: c.expect ?? null, loaded }
  })
}

export interface StormCheck { id: string, verdict: string, expect: string | null, recoveryS: number | null }

/** Each storm's own verdict against its `expect` (a storm the report did not find: verdict 'missing'). */
export function stormChecks (r: Pick<RunOutcome, 'report' | 'loaded'>): StormCheck[] {
  const judged = new Map(r.report.storms.map(st => [st.id, st]))
  const planned = r.loaded.scenario.storms.map(st => st.storm.id)
  const ids = [...planned, ...[...judged.keys()].filter(id => !planned.includes(id))]
  return ids.map(id => {
    const j = judged.get(id)
    const expect = r.loaded.scenario.storms.find(st => st.storm.id === id)?.expect ?? null
    return { id, verdict: j?.verdict ?? 'missing', expect, recoveryS: j?.recoveryS ?? null }
  })
}

interface RunOptions extends StartupOptions, RuntimeOption { seed?: string, runId?: string, keep: boolean, check: boolean, json: boolean }

export const runCommand = defineCommand({
  name: 'run',
  description: 'run a scenario: up, warm-up, storms, injections and joins, observation, report, down',
  options: cmd => {
    cmd
      .argument('<scenario>', 'scenario file (YAML), e.g. scenarios/skype-2007.yaml')
      .option('--seed <seed>', 'override the scenario\'s seed (printed either way)')
      .option('--run-id <id>', 'name of the run folder')
    withRuntimeOption(cmd)
    withStartupOptions(cmd, 'start-up deadline')
    return cmd
      .option('--keep', 'leave the network running after the report', false)
      .option('--check', 'exit 3 when the verdict differs from the scenario\'s `expect`, or a storm\'s own verdict from its `expect`', false)
      .option('--json', 'print report.json\'s headline fields as JSON', false)
  },
  action: async (file: string, o: RunOptions, cmd: Command) => {
    const r = await runScenario({
      runsDir: runsDir(cmd),
      file,
      runtime: runtimeOption(o),
      ...(restartModeOption(o) !== undefined ? { restartMode: restartModeOption(o) } : {}),
      ...(networkOption(o) !== undefined ? { network: networkOption(o) } : {}),
      ...startupOptions(o),
      keep: o.keep,
      quiet: o.json,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.runId !== undefined ? { runId: o.runId } : {})
    })
    const storms = stormChecks(r)
    const headline = { runId: r.runId, seed: r.seed, verdict: r.report.verdict, expect: r.expect, recoveryS: r.report.recoveryS, reasons: r.report.reasons, amplification: r.report.amplification, hostSaturated: r.report.host.hostSaturated, storms }
    const perStorm = storms.length > 1 || storms.some(st => st.expect !== null) ? storms.map(st => `  storm ${st.id}: ${st.verdict}${st.expect !== null ? ` (expected ${st.expect})` : ''}\n`).join('') : ''
    process.stdout.write(o.json ? JSON.stringify(headline) + '\n' : `${r.runId} ${r.report.verdict}${r.expect !== null ? ` (expected ${r.expect})` : ''}\n${perStorm}`)
    const mismatch = (r.expect !== null && r.expect !== r.report.verdict) || storms.some(st => st.expect !== null && st.expect !== st.verdict)
    if (o.check && mismatch) process.exitCode = 3
  }
})
