/**
 * `patchday logs`: every process's log merged into one timeline, filtered by
 * peer, role and event, optionally followed and pretty-printed (pino-pretty, in
 * this process: the peers only ever write JSON).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { prettyFactory } from 'pino-pretty'
import type { RunDir } from '../run/dir.ts'
import { LogTailer, mergeByTime, parseAnyLine, type LogLine } from '../logs/tail.ts'

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
