/**
 * The event logger: pino JSON on stdout, written synchronously so that a
 * SIGKILL loses nothing that was logged before it. Every line carries run,
 * peer, incarnation and the current role; `ev` names the contract event.
 *
 * Events that bad input or refused requests produce (SUMMARISED_EVENTS in the
 * contract) go through a LogLimiter: past `limits.max` lines per event name and
 * interval they are counted and summarised in one `log.suppressed` line, so a
 * hostile peer cannot turn its request rate into disk writes. Every other event
 * (the ones the analysis counts) is written one line each, always.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import { SUMMARISED_EVENTS, type EventName, type EventPayloads, type Role } from './contract/events.ts'
import { LogLimiter, type LogLimits, type Suppressed } from './log-limiter.ts'

export interface EventLog {
  event: <E extends EventName>(ev: E, fields: EventPayloads[E], msg?: string) => void
  debug: (obj: Record<string, unknown>, msg: string) => void
  warn: (obj: Record<string, unknown>, msg: string) => void
  /** Writes the summaries still pending (at shutdown) and flushes. */
  flush: () => void
}

export interface LogBindings { run: string, peer: string, inc: number, level: 'debug' | 'info' | 'warn' }

const SUMMARISED = new Set<string>(SUMMARISED_EVENTS)

/** No limit: every line written (tests that count lines, tools). */
export const NO_LOG_LIMITS: LogLimits = { max: 0, intervalMs: 1000 }

export function createEventLog (b: LogBindings, role: () => Role, dest?: DestinationStream, limits: LogLimits = NO_LOG_LIMITS): EventLog {
  const stream = dest ?? pino.destination({ fd: 1, sync: true })
  const logger: Logger = pino({
    level: b.level,
    base: { run: b.run, peer: b.peer, inc: b.inc },
    mixin: () => ({ role: role() })
  }, stream)
  const limiter = new LogLimiter(limits)
  let timer: NodeJS.Timeout | null = null
  const write = (ev: string, fields: Record<string, unknown>, msg?: string): void => { logger.info({ ev, ...fields }, msg ?? ev) }
  const summarise = (s: Suppressed): void => { write('log.suppressed', { ...s } satisfies EventPayloads['log.suppressed']) }
  const tick = (): void => {
    timer = null
    for (const s of limiter.due(Date.now())) summarise(s)
    arm()
  }
  // The summary of a quiet-again event must not wait for its next line: a timer
  // (unref'd: it never keeps a process alive) writes it when the interval ends.
  const arm = (): void => {
    if (timer !== null || limiter.pending === 0) return
    timer = setTimeout(tick, limits.intervalMs)
    timer.unref()
  }
  return {
    event: (ev, fields, msg) => {
      const f = fields as Record<string, unknown>
      if (!SUMMARISED.has(ev)) { write(ev, f, msg); return }
      const { write: ok, summary } = limiter.admit(ev, f, Date.now())
      if (summary !== null) summarise(summary)
      if (ok) write(ev, f, msg)
      else arm()
    },
    debug: (obj, msg) => { logger.debug(obj, msg) },
    warn: (obj, msg) => { logger.warn(obj, msg) },
    flush: () => {
      if (timer !== null) clearTimeout(timer)
      timer = null
      for (const s of limiter.due(Number.POSITIVE_INFINITY)) summarise(s)
      logger.flush()
    }
  }
}
