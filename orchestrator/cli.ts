/**
 * The patchday CLI: a thin map from commands to command modules. Results go to
 * stdout (`--json` for machines), progress and errors to stderr. Exit codes:
 * 0 ok, 1 failure, 2 bad usage.
 */
import { Command, CommanderError } from 'commander'
import { parseSetting, type PeerConfig } from '../node/contract/config.ts'
import { ConfigError } from '../node/contract/errors.ts'
import { defaultRunsDir, resolveRun, listRuns, RunDir } from './run-dir.ts'
import { up } from './commands/up.ts'
import { status, formatStatus } from './commands/status.ts'
import { logs } from './commands/logs.ts'
import { stopRun } from './commands/down.ts'
import { UsageError } from './errors.ts'
import { parseCount, parseDuration, parseShare } from './units.ts'
import { PEERS_MAX } from './network-plan.ts'

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

  program.command('up')
    .description('start the login server and N peer processes on this machine; returns once the network is steady')
    .requiredOption('--peers <n>', `number of peers (1..${PEERS_MAX})`)
    .option('--seed <seed>', 'seed for every random choice (printed when not given)')
    .option('--run-id <id>', 'name of the run folder (default: time and seed)')
    .option('--bootstrap <n>', 'bootstrap supernodes (default: max(2, peers/40))')
    .option('--capable-share <x>', 'share of peers eligible for supernode election (0..1)', '0.3')
    .option('--set <key=value>', 'a peer setting for every peer, e.g. slotsMax=20 (repeatable; see docs/config.md)', collect, [])
    .option('--steady-share <x>', 'share of peers online that counts as steady (0..1)', '0.95')
    .option('--timeout <duration>', 'give up (and stop everything) when not steady by then', '5m')
    .option('--booting-max <n>', 'processes booting at once', '8')
    .option('--keep-on-failure', 'leave the processes running when start-up fails (for inspection)', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: Record<string, string | boolean | string[]>, cmd: Command) => {
      const args = {
        runsDir: runsDir(cmd),
        peers: parseCount(String(o.peers), '--peers', 1, PEERS_MAX),
        settings: settingsFrom(o.set as string[]),
        capableShare: parseShare(String(o.capableShare), '--capable-share'),
        steadyShare: parseShare(String(o.steadyShare), '--steady-share'),
        deadlineMs: parseDuration(String(o.timeout), '--timeout'),
        bootingMax: parseCount(String(o.bootingMax), '--booting-max', 1, 256),
        keepOnFailure: o.keepOnFailure === true,
        json: o.json === true,
        ...(o.seed !== undefined ? { seed: String(o.seed) } : {}),
        ...(o.runId !== undefined ? { runId: String(o.runId) } : {}),
        ...(o.bootstrap !== undefined ? { bootstrap: parseCount(String(o.bootstrap), '--bootstrap', 1, PEERS_MAX) } : {})
      }
      if (args.seed !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(args.seed)) throw new UsageError('--seed: letters, digits, . _ - only (1..64)')
      const r = await up(args)
      if (args.json) process.stdout.write(JSON.stringify({ runId: r.runId, seed: r.seed, elapsedMs: r.elapsedMs, ...r.summary }) + '\n')
      else process.stdout.write(`${r.runId}\n`)
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

  program.command('down')
    .description('stop every process of the run: SIGTERM, then SIGKILL after the grace period')
    .option('--run <id>', 'run id (default: the current run)')
    .option('--all', 'every run in the runs folder', false)
    .option('--grace <duration>', 'time between SIGTERM and SIGKILL', '5s')
    .action(async (o: { run?: string, all: boolean, grace: string }, cmd: Command) => {
      const dir = runsDir(cmd)
      const graceMs = parseDuration(o.grace, '--grace')
      const runs = o.all ? (await listRuns(dir)).map(id => new RunDir(dir, id)) : [await resolveRun(dir, o.run)]
      for (const run of runs) {
        const r = await stopRun(run, graceMs)
        process.stdout.write(`${run.runId}: stopped ${r.stopped}, killed ${r.killed}${r.strays > 0 ? ` (${r.strays} found by run id)` : ''}\n`)
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
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and version are not failures.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`patchday: ${err.message}\n`)
      return 2
    }
    const e = err as Error
    process.stderr.write(`patchday: ${e.name === 'Error' ? '' : e.name + ': '}${e.message}\n`)
    if (process.env.PATCHDAY_DEBUG !== undefined) process.stderr.write(`${e.stack ?? ''}\n`)
    return 1
  }
}


