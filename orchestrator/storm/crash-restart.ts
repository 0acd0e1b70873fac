/**
 * Users restarting crashed clients (2010): a peer that logged `crash` is started
 * again after a boot delay drawn from the scenario's `crashRestart`, unless it
 * is running again by then. Restarts are journalled as storm ops of the pseudo
 * storm `crash-restart`, so the timeline shows them beside the faults.
 */
import type { PeerEvent } from '../../node/contract/events.ts'
import type { Rng } from '../../node/contract/rng.ts'
import { runningNames, type ProcessControl, type ProcessSpec } from '../runtime/runtime.ts'
import type { Journal } from '../run/journal.ts'
import { sampleBootDelay, type BootDelay } from './boot-delay.ts'

export class CrashRestarter {
  private readonly due = new Map<string, number>()
  private readonly t0 = Date.now()
  private readonly c: { runtime: ProcessControl, journal: Journal, rng: Rng, delay: BootDelay, timeScale: number, specFor: (name: string) => ProcessSpec }

  constructor (c: CrashRestarter['c']) { this.c = c }

  /** Feed every new event; crashes schedule a restart. */
  observe (e: PeerEvent): void {
    if (e.ev !== 'crash' || this.due.has(e.peer)) return
    const delayMs = Math.round(sampleBootDelay(this.c.delay, this.c.rng) * this.c.timeScale)
    this.due.set(e.peer, Date.now() + delayMs)
  }

  /** Start the peers whose delay is over. */
  async tick (): Promise<void> {
    const now = Date.now()
    const ready = [...this.due].filter(([, at]) => at <= now)
    if (ready.length === 0) return
    const running = await runningNames(this.c.runtime)
    for (const [name, at] of ready) {
      this.due.delete(name)
      if (running.has(name)) continue
      const base = { stormId: 'crash-restart', op: 'start' as const, target: name, plannedMs: at - this.t0, lateMs: now - at }
      this.c.journal.event('storm.op', { ...base, status: 'invoked' })
      try {
        await this.c.runtime.start(this.c.specFor(name))
        this.c.journal.event('storm.op', { ...base, status: 'ok' })
      } catch (err) {
        this.c.journal.event('storm.op', { ...base, status: 'failed', error: (err as Error).message })
      }
    }
  }

  get pending (): number { return this.due.size }
}
