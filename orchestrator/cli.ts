/**
 * The patchday CLI: a thin map from commands to command modules. Results go to
 * stdout (`--json` for machines), progress and errors to stderr. Exit codes:
 * 0 ok, 1 failure, 2 bad usage.
 */
import { Command, CommanderError } from 'commander'
import { parseSetting, type PeerConfig } from '../node/contract/config.ts'
import { ConfigError } from '../node/contract/errors.ts'
import { defaultRunsDir, resolveRun, listRuns, RunDir } from './run/dir.ts'
import { up } from './commands/up.ts'
import { status, formatStatus } from './commands/status.ts'
import { logs } from './commands/logs.ts'
import { stopRun } from './network/stop.ts'
import { storm } from './commands/storm.ts'
import { runScenario } from './commands/run.ts'
import { sweep } from './commands/sweep.ts'
import { attach } from './commands/attach.ts'
import { injectSupernodes } from './network/inject.ts'
import { openRuntime, parseRuntimeKind } from './runtime/index.ts'
import { openJournal } from './run/journal.ts'
import { writeReport, formatSummary } from './analysis/report.ts'
import { parseStormInput } from './storm/spec.ts'
import { ScenarioError } from './scenario/errors.ts'
import { StormSpecError, TargetSpecError } from './storm/errors.ts'
import { UsageError } from './errors.ts'
import { parseCount, parseDuration, parseShare } from './units.ts'
import { PEERS_MAX } from './network/plan.ts'

const collect = (value: string, previous: string[]): string[] => [...previous, value]
const list = (value: string): string[] => value.split(',').map(s => s.trim()).filter(s => s !== '')

function settingsFrom (pairs: string[]): Partial<PeerConfig> {
  const out: Record<string, unknown> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new UsageError(`--set expects key=value, got ${JSON.stringify(pair)}`)
    const [key, value] = parseSetting(pair.slice(0, eq), pair.slice(eq + 1))
    out[key] = value
  }
  return out as Partial<PeerConfig>
}

/** Declares `--timeout` (with its help text) and `--booting-max`: every command that brings a network up takes both. */
function withStartupOptions (cmd: Command, timeoutHelp: string): Command {
  return cmd
    .option('--timeout <duration>', timeoutHelp, '5m')
    .option('--booting-max <n>', 'processes booting at once', '8')
}

/** `--timeout` and `--booting-max`, parsed. */
function startupOptions (o: { timeout: string, bootingMax: string }): { deadlineMs: number, bootingMax: number } {
  return { deadlineMs: parseDuration(o.timeout, '--timeout'), bootingMax: parseCount(o.bootingMax, '--booting-max', 1, 256) }
}

const RUNTIME_HELP = 'where the processes run: local (processes on this machine), compose (a container each, Docker Compose), swarm (a Docker Swarm stack)'

function runsDir (cmd: Command): string {
  const o = cmd.optsWithGlobals<{ runsDir?: string }>()
  return o.runsDir ?? defaultRunsDir()
}

export function buildCli (): Command {
  const program = new Command('patchday')
    .description('Reboot storms and login floods in a libp2p peer-to-peer overlay, with real processes.')
    .option('--runs-dir <dir>', 'where runs are kept (env PATCHDAY_RUNS_DIR)', undefined)
    .showHelpAfterError()
    .exitOverride()

  const upCmd = program.command('up')
    .description('start the login server and N peer processes on this machine; returns once the network is steady')
    .requiredOption('--peers <n>', `number of peers (1..${PEERS_MAX})`)
    .option('--seed <seed>', 'seed for every random choice (printed when not given)')
    .option('--run-id <id>', 'name of the run folder (default: time and seed)')
    .option('--bootstrap <n>', 'bootstrap supernodes (default: enough slots for all peers plus 20%)')
    .option('--capable-share <x>', 'share of peers eligible for supernode election (0..1)', '0.3')
    .option('--set <key=value>', 'a peer setting for every peer, e.g. slotsMax=20 (repeatable; see docs/config.md)', collect, [])
    .option('--steady-share <x>', 'share of peers online that counts as steady (0..1)', '0.95')
    .option('--runtime <kind>', RUNTIME_HELP, 'local')
  withStartupOptions(upCmd, 'give up (and stop everything) when not steady by then')
    .option('--keep-on-failure', 'leave the processes running when start-up fails (for inspection)', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: Record<string, string | boolean | string[]>, cmd: Command) => {
      const args = {
        runsDir: runsDir(cmd),
        peers: parseCount(String(o.peers), '--peers', 1, PEERS_MAX),
        settings: settingsFrom(o.set as string[]),
        capableShare: parseShare(String(o.capableShare), '--capable-share'),
        steadyShare: parseShare(String(o.steadyShare), '--steady-share'),
        ...startupOptions({ timeout: String(o.timeout), bootingMax: String(o.bootingMax) }),
        keepOnFailure: o.keepOnFailure === true,
        json: o.json === true,
        runtime: parseRuntimeKind(String(o.runtime)),
        ...(o.seed !== undefined ? { seed: String(o.seed) } : {}),
        ...(o.runId !== undefined ? { runId: String(o.runId) } : {}),
        ...(o.bootstrap !== undefined ? { bootstrap: parseCount(String(o.bootstrap), '--bootstrap', 1, PEERS_MAX) } : {})
      }
      if (args.seed !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(args.seed)) throw new UsageError('--seed: letters, digits, . _ - only (1..64)')
      const r = await up(args)
      if (args.json) process.stdout.write(JSON.stringify({ runId: r.runId, seed: r.seed, elapsedMs: r.elapsedMs, ...r.summary }) + '\n')
      else process.stdout.write(`${r.runId}\n`)
    })

  program.command('attach')
    .description('adopt a network that `docker compose up` started (the top-level compose.yaml) as a run: status, logs, storm, report and down then work on it')
    .option('--project <name>', 'compose project (default: the only one running patchday containers)')
    .option('--run-id <id>', 'name of the run folder (default: the project name)')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: { project?: string, runId?: string, json: boolean }, cmd: Command) => {
      const r = await attach({ runsDir: runsDir(cmd), ...(o.project !== undefined ? { project: o.project } : {}), ...(o.runId !== undefined ? { runId: o.runId } : {}) })
      process.stdout.write(o.json ? JSON.stringify(r) + '\n' : `${r.runId}: compose project ${r.project}, ${r.peers} peers, ${r.running} containers running\n`)
    })

  program.command('status')
    .description('online / attaching / offline peers, supernodes and clients per supernode, read from the event logs')
    .option('--run <id>', 'run id (default: the current run)')
    .option('--json', 'print JSON (fields: peers, online, attaching, booting, offline, supernodes, ...)', false)
    .action(async (o: { run?: string, json: boolean }, cmd: Command) => {
      const s = await status(await resolveRun(runsDir(cmd), o.run))
      process.stdout.write(o.json ? JSON.stringify(s) + '\n' : formatStatus(s) + '\n')
    })

  program.command('logs')
    .description('every process\'s log merged into one timeline (JSON lines; --pretty for people)')
    .option('--run <id>', 'run id (default: the current run)')
    .option('--peer <names>', 'only these peers (comma list, e.g. p-017,login)', list)
    .option('--role <roles>', 'only these roles (client, supernode, login, orchestrator)', list)
    .option('--event <names>', 'only these events (comma list; attach.* matches a prefix)', list)
    .option('--tail <n>', 'only the last N lines of the history')
    .option('-f, --follow', 'keep printing new lines until interrupted', false)
    .option('--pretty', 'pretty-print with pino-pretty', false)
    .action(async (o: { run?: string, peer?: string[], role?: string[], event?: string[], tail?: string, follow: boolean, pretty: boolean }, cmd: Command) => {
      const run = await resolveRun(runsDir(cmd), o.run)
      const stop = new AbortController()
      process.once('SIGINT', () => { stop.abort() })
      const filter = { ...(o.peer !== undefined ? { peers: o.peer } : {}), ...(o.role !== undefined ? { roles: o.role } : {}), ...(o.event !== undefined ? { events: o.event } : {}) }
      await logs(run, {
        filter,
        follow: o.follow,
        pretty: o.pretty,
        signal: stop.signal,
        write: (t) => { process.stdout.write(t) },
        ...(o.tail !== undefined ? { tail: parseCount(o.tail, '--tail', 1, 100_000_000) } : {})
      })
    })

  const runCmd = program.command('run')
    .description('run a scenario: up, warm-up, storms and injections, observation, report, down')
    .argument('<scenario>', 'scenario file (YAML), e.g. scenarios/skype-2007.yaml')
    .option('--seed <seed>', 'override the scenario\'s seed (printed either way)')
    .option('--run-id <id>', 'name of the run folder')
    .option('--runtime <kind>', RUNTIME_HELP, 'local')
  withStartupOptions(runCmd, 'start-up deadline')
    .option('--keep', 'leave the network running after the report', false)
    .option('--check', 'exit 3 when the verdict differs from the scenario\'s `expect`', false)
    .option('--json', 'print report.json\'s headline fields as JSON', false)
    .action(async (file: string, o: { seed?: string, runId?: string, runtime: string, timeout: string, bootingMax: string, keep: boolean, check: boolean, json: boolean }, cmd: Command) => {
      const r = await runScenario({
        runsDir: runsDir(cmd),
        file,
        runtime: parseRuntimeKind(o.runtime),
        ...startupOptions(o),
        keep: o.keep,
        quiet: o.json,
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.runId !== undefined ? { runId: o.runId } : {})
      })
      const headline = { runId: r.runId, seed: r.seed, verdict: r.report.verdict, expect: r.expect, recoveryS: r.report.recoveryS, reasons: r.report.reasons, amplification: r.report.amplification, hostSaturated: r.report.host.hostSaturated }
      process.stdout.write(o.json ? JSON.stringify(headline) + '\n' : `${r.runId} ${r.report.verdict}${r.expect !== null ? ` (expected ${r.expect})` : ''}\n`)
      if (o.check && r.expect !== null && r.expect !== r.report.verdict) process.exitCode = 3
    })

  const sweepCmd = program.command('sweep')
    .description('run a scenario\'s sweep (storm share x load, repeated trials) into a table and a phase diagram')
    .argument('<scenario>', 'scenario file with a sweep: section, e.g. scenarios/sweep-2007.yaml')
    .option('--seed <seed>', 'override the scenario\'s seed')
    .option('--limit <n>', 'run only the first N runs of the sweep')
  withStartupOptions(sweepCmd, 'start-up deadline of each run')
    .action(async (file: string, o: { seed?: string, limit?: string, timeout: string, bootingMax: string }, cmd: Command) => {
      const r = await sweep({
        runsDir: runsDir(cmd),
        file,
        ...startupOptions(o),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.limit !== undefined ? { limit: parseCount(o.limit, '--limit', 1, 10_000) } : {})
      })
      process.stdout.write(`${r.dir}/sweep.html\n`)
    })

  program.command('storm')
    .description('a reboot storm on the running network (durations in emulated time: the run\'s time scale applies)')
    .option('--run <id>', 'run id (default: the current run)')
    .option('--targets <spec>', 'all | peers | supernodes | fraction:x | n | count:n | p-001,p-007 | supernodes,fraction:0.5')
    .option('--share <x>', 'shorthand for --targets fraction:x')
    .option('--shape <shape>', 'all-at-once | uniform | waves (default: uniform with --window, else all-at-once)')
    .option('--window <duration>', 'the stops spread uniformly over this window')
    .option('--waves <n>', 'with --shape waves: number of groups')
    .option('--wave-window <duration>', 'with --shape waves: each group\'s window')
    .option('--gap <duration>', 'with --shape waves: pause between groups')
    .option('--shutdown <mode>', 'graceful (SIGTERM, then SIGKILL after --grace) or power-cut (SIGKILL)', 'graceful')
    .option('--grace <duration>', 'real time a process gets to exit after SIGTERM', '5s')
    .option('--boot-delay <delay>', 'each target restarts after: 5s | 2s..8s | exp(5s, 1s..30s) | normal(10s, 3s, 2s..20s)', '0s')
    .option('--id <id>', 'storm id in the journal', 'storm')
    .option('--seed <seed>', 'seed for targets, times and delays (printed when not given)')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: Record<string, string | boolean | undefined>, cmd: Command) => {
      if (o.targets !== undefined && o.share !== undefined) throw new UsageError('give --targets or --share, not both')
      const targets = o.share !== undefined ? `fraction:${parseShare(String(o.share), '--share')}` : (o.targets as string | undefined) ?? 'all'
      const input: Record<string, unknown> = { targets, shutdown: o.shutdown, grace: o.grace, bootDelay: o.bootDelay, id: o.id }
      input.shape = o.shape ?? (o.window !== undefined ? 'uniform' : 'all-at-once')
      if (o.window !== undefined) input.window = o.window
      if (o.waves !== undefined) input.waves = parseCount(String(o.waves), '--waves', 1, 48)
      if (o.waveWindow !== undefined) input.waveWindow = o.waveWindow
      if (o.gap !== undefined) input.gap = o.gap
      const spec = parseStormInput(input, String(o.id))
      const run = await resolveRun(runsDir(cmd), o.run as string | undefined)
      const r = await storm(run, spec, o.seed as string | undefined, o.json === true)
      if (o.json === true) process.stdout.write(JSON.stringify({ stormId: r.stormId, seed: r.seed, ok: r.ok, failed: r.failed, skipped: r.skipped, aborted: r.aborted }) + '\n')
      if (r.failed > 0) process.exitCode = 1
    })

  program.command('inject')
    .description('add dedicated high-capacity supernodes to the running network (2010\'s mega-supernodes)')
    .argument('<what>', 'what to inject: supernodes')
    .requiredOption('--count <n>', 'how many')
    .option('--slots <m>', 'client slots each', '200')
    .option('--run <id>', 'run id (default: the current run)')
    .action(async (what: string, o: { count: string, slots: string, run?: string }, cmd: Command) => {
      if (what !== 'supernodes') throw new UsageError(`inject: only 'supernodes' can be injected, not ${JSON.stringify(what)}`)
      const run = await resolveRun(runsDir(cmd), o.run)
      const names = await injectSupernodes(run, await openRuntime(run), openJournal(run.logFile('orchestrator'), run.runId), parseCount(o.count, '--count', 1, 64), parseCount(o.slots, '--slots', 1, 100_000))
      process.stdout.write(names.join('\n') + '\n')
    })

  program.command('report')
    .description('analyse a run\'s logs into report.json and report.html (and a summary here)')
    .argument('[run-dir]', 'the run folder (default: the current run)')
    .option('--json', 'print report.json instead of the summary', false)
    .action(async (dir: string | undefined, o: { json: boolean }, cmd: Command) => {
      const root = dir ?? (await resolveRun(runsDir(cmd))).root
      // A run whose processes print to a container runtime: bring its log files up to date first.
      if (dir === undefined) await (await openRuntime(await resolveRun(runsDir(cmd)))).syncLogs()
      const report = await writeReport(root)
      process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatSummary(report) + `\nreport: ${root}/report.html\n`)
    })

  program.command('down')
    .description('stop every process of the run (SIGTERM, then SIGKILL after the grace period) and remove its containers, networks and volumes')
    .option('--run <id>', 'run id (default: the current run)')
    .option('--all', 'every run in the runs folder', false)
    .option('--grace <duration>', 'time between SIGTERM and SIGKILL', '5s')
    .action(async (o: { run?: string, all: boolean, grace: string }, cmd: Command) => {
      const dir = runsDir(cmd)
      const graceMs = parseDuration(o.grace, '--grace')
      const runs = o.all ? (await listRuns(dir)).map(id => new RunDir(dir, id)) : [await resolveRun(dir, o.run)]
      for (const run of runs) {
        const r = await stopRun(run, graceMs)
        process.stdout.write(`${run.runId}: stopped ${r.stopped}, killed ${r.killed}${r.strays > 0 ? ` (${r.strays} found without a record)` : ''}${r.removed > 0 ? `, removed ${r.removed} containers and networks` : ''}\n`)
      }
    })

  return program
}

export async function main (argv: string[]): Promise<number> {
  // `patchday logs | head`: a closed pipe ends the output, not with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
  const program = buildCli()
  try {
    await program.parseAsync(argv, { from: 'user' })
    // An action may have set a failure code (run --check: 3, storm with failed operations: 1).
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and version are not failures.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2
    }
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof ScenarioError || err instanceof StormSpecError || err instanceof TargetSpecError) {
      process.stderr.write(`patchday: ${err.message}\n`)
      return 2
    }
    const e = err as Error
    process.stderr.write(`patchday: ${e.name === 'Error' ? '' : e.name + ': '}${e.message}\n`)
    if (process.env.PATCHDAY_DEBUG !== undefined) process.stderr.write(`${e.stack ?? ''}\n`)
    return 1
  }
}


