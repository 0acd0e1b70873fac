/**
 * Taking in a supernode list (an exchange, a busy answer's alternatives, a
 * heartbeat's list): every entry must be a valid record signed by the supernode
 * it names (node/sn-record.ts), and the host cache bounds what one source may
 * add (node/host-cache.ts). Refusals are logged as one `gossip.refused` per
 * list and reason (a summarised event: a flood of them costs a few lines).
 */
import type { SnInfo } from './protocol/messages.ts'
import type { HostCache } from './host-cache.ts'
import type { EventLog } from './log.ts'
import type { GossipRefusal } from './contract/events.ts'
import { verifyRecord, InvalidRecordError } from './sn-record.ts'

export interface GossipContext {
  cache: HostCache
  log: EventLog
  /** This peer's own name: its own record is not learnt. */
  self: string
  /** Longest life a record may claim, and how far ahead of our clock it may be issued (emulated ms). */
  lifeMaxMs: number
  skewMs: number
}

/** Learn from `list`, told by `source` (the remote peer id). Returns how many entries were refused, by reason. */
export function takeGossip (ctx: GossipContext, list: readonly SnInfo[], source: string, nowMs: number): Partial<Record<GossipRefusal, number>> {
  const refused: Partial<Record<GossipRefusal, number>> = {}
  const refuse = (r: GossipRefusal): void => { refused[r] = (refused[r] ?? 0) + 1 }
  for (const sn of list) {
    if (sn.name === ctx.self) continue
    try {
      verifyRecord(sn, nowMs, ctx.lifeMaxMs, ctx.skewMs)
    } catch (err) {
      if (!(err instanceof InvalidRecordError)) throw err
      refuse('invalid-record')
      continue
    }
    const outcome = ctx.cache.hear(sn, source)
    if (outcome === 'source-cap' || outcome === 'conflict') refuse(outcome)
    else if (outcome === 'full') refuse('cache-full')
  }
  logRefusals(ctx.log, source, refused)
  return refused
}

export function logRefusals (log: EventLog, from: string, refused: Partial<Record<GossipRefusal, number>>): void {
  for (const [reason, entries] of Object.entries(refused) as Array<[GossipRefusal, number]>) log.event('gossip.refused', { from, reason, entries })
}
