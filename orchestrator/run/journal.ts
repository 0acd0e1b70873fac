/**
 * The orchestrator's own event log (logs/orchestrator.log): the same contract
 * and format as the peers', so that one timeline shows faults and their effects.
 */
import { pino } from 'pino'
import type { EventName, EventPayloads } from '../../node/contract/events.ts'

export interface Journal {
  event: <E extends EventName>(ev: E, fields: EventPayloads[E], msg?: string) => void
  flush: () => void
}

export function openJournal (file: string, runId: string): Journal {
  const dest = pino.destination({ dest: file, append: true, sync: true, mkdir: true })
  const logger = pino({ base: { run: runId, peer: 'orchestrator', inc: 1, role: 'orchestrator' } }, dest)
  return {
    event: (ev, fields, msg) => { logger.info({ ev, ...fields } as Record<string, unknown>, msg ?? ev) },
    flush: () => { logger.flush() }
  }
}
