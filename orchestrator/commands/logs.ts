/**
 * `patchday logs`: every process's log merged into one timeline, filtered by
 * peer, role and event, optionally followed and pretty-printed (pino-pretty, in
 * this process: the peers only ever write JSON).
 */
import type { Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import { prettyFactory } from 'pino-pretty'
import { resolveRun, type RunDir } from '../run/dir.ts'
import { openRuntime } from '../runtime/index.ts'
import { LogTailer, mergeByTime, parseAnyLine, type LogLine } from '../logs/tail.ts'
import { parseCount } from '../units.ts'
import { defineCommand } from './command.ts'
import { list, runsDir } from './options.ts'

export interface LogFilter {
  peers?: string[]
  roles?: string[]
  /** Event names; `attach.*` matches a prefix. */
  events?: string[]
}

export function matches (line: LogLine, f: LogFilter): boolean {
  if (f.peers !== undefined && !f.peers.includes(String(line.peer))) return false
  if (f.roles !== undefined && !f.roles.includes(String(line.role))) return false
  if (f.events !== undefined) {
    const ev = typeof line.ev === 'string' ? line.ev : ''
    if (!f.events.some(p => p.endsWith('*') ? ev.startsWith(p.slice(0, -1)) : ev === p)) return false
  }
  return true
}

export interface LogsArgs {
  filter: LogFilter
  follow: boolean
  pretty: boolean
  /** Only the last N lines of the history (before following). */
  tail?: number
  signal?: AbortSignal
  write: (text: string) => void
}

export const FOLLOW_POLL_MS = 300

export async function logs (run: RunDir, a: LogsArgs): Promise<number> {
  const tailer = new LogTailer<LogLine>(run.logsDir, parseAnyLine)
  const pretty = a.pretty ? prettyFactory({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,run,peer,inc,role,ev', messageFormat: '{peer}#{inc} {role} {msg}', singleLine: true }) : null
  const print = (lines: LogLine[]): void => {
    for (const l of lines) a.write(pretty !== null ? pretty(l) : JSON.stringify(l) + '\n')
  }
  let history = mergeByTime((await tailer.poll()).filter(l => matches(l, a.filter)))
  if (a.tail !== undefined) history = history.slice(-a.tail)
  print(history)
  let count = history.length
  while (a.follow && a.signal?.aborted !== true) {
    await sleep(FOLLOW_POLL_MS, undefined, { signal: a.signal }).catch((err: unknown) => { if ((err as Error).name !== 'AbortError') throw err })
    const fresh = mergeByTime((await tailer.poll()).filter(l => matches(l, a.filter)))
    print(fresh)
    count += fresh.length
  }
  return count
}

interface LogsOptions { run?: string, peer?: string[], role?: string[], event?: string[], tail?: string, follow: boolean, pretty: boolean }

export const logsCommand = defineCommand({
  name: 'logs',
  description: 'every process\'s log merged into one timeline (JSON lines; --pretty for people)',
  options: cmd => cmd
    .option('--run <id>', 'run id (default: the current run)')
    .option('--peer <names>', 'only these peers (comma list, e.g. p-017,login)', list)
    .option('--role <roles>', 'only these roles (client, supernode, login, orchestrator)', list)
    .option('--event <names>', 'only these events (comma list; attach.* matches a prefix)', list)
    .option('--tail <n>', 'only the last N lines of the history')
    .option('-f, --follow', 'keep printing new lines until interrupted', false)
    .option('--pretty', 'pretty-print with pino-pretty', false),
  action: async (o: LogsOptions, cmd: Command) => {
    const run = await resolveRun(runsDir(cmd), o.run)
    const stop = new AbortController()
    process.once('SIGINT', () => { stop.abort() })
    const filter = { ...(o.peer !== undefined ? { peers: o.peer } : {}), ...(o.role !== undefined ? { roles: o.role } : {}), ...(o.event !== undefined ? { events: o.event } : {}) }
    // Containers print to Docker: bring the run's log files up to date, and keep them so while following.
    const runtime = await openRuntime(run)
    await runtime.syncLogs()
    const collecting = o.follow ? runtime.collectLogs(stop.signal) : Promise.resolve()
    await logs(run, {
      filter,
      follow: o.follow,
      pretty: o.pretty,
      signal: stop.signal,
      write: (t) => { process.stdout.write(t) },
      ...(o.tail !== undefined ? { tail: parseCount(o.tail, '--tail', 1, 100_000_000) } : {})
    })
    stop.abort()
    await collecting
  }
})
