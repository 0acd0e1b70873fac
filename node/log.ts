/**
 * The event logger: pino JSON on stdout, written synchronously so that a
 * SIGKILL loses nothing that was logged before it. Every line carries run,
 * peer, incarnation and the current role; `ev` names the contract event.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import type { EventName, EventPayloads, Role } from './contract/events.ts'

export interface EventLog {
  event: <E extends EventName>(ev: E, fields: EventPayloads[E], msg?: string) => void
  debug: (obj: Record<string, unknown>, msg: string) => void
  warn: (obj: Record<string, unknown>, msg: string) => void
  flush: () => void
}

export interface LogBindings { run: string, peer: string, inc: number, level: 'debug' | 'info' | 'warn' }

export function createEventLog (b: LogBindings, role: () => Role, dest?: DestinationStream): EventLog {
  const stream = dest ?? pino.destination({ fd: 1, sync: true })
  const logger: Logger = pino({
    level: b.level,
    base: { run: b.run, peer: b.peer, inc: b.inc },
    mixin: () => ({ role: role() })
  }, stream)
  return {
    event: (ev, fields, msg) => { logger.info({ ev, ...fields } as Record<string, unknown>, msg ?? ev) },
    debug: (obj, msg) => { logger.debug(obj, msg) },
    warn: (obj, msg) => { logger.warn(obj, msg) },
    flush: () => { logger.flush() }
  }
}
