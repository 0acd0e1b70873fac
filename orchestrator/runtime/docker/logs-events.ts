/**
 * The collector's subscription to Docker's container events (`start`,
 * `destroy`) of the run's label: resubscribed after a failure from the last
 * event's time, since a follow stream ends at every restart and a start event
 * is what re-follows it.
 */
import type Dockerode from 'dockerode'
import { setTimeout as sleep } from 'node:timers/promises'

export interface EventWatch {
  docker: Dockerode
  labels: string[]
  warn: (message: string) => void
  /** A subscription is in place, or the attempt failed (either way follow() may go on). */
  subscribed: () => void
  /** Subscribed again after a failure: events may have been missed. */
  resubscribed: () => void
  onEvent: (action: string, id: string) => void
}

/** Watches until `stop` aborts. */
export async function watchContainerEvents (w: EventWatch, stop: AbortSignal): Promise<void> {
  let since: number | undefined
  while (!stop.aborted) {
    try {
      const stream = await w.docker.getEvents({
        filters: { type: ['container'], label: w.labels, event: ['start', 'destroy'] },
        ...(since !== undefined ? { since } : {}),
        abortSignal: stop
      })
      w.subscribed()
      if (since !== undefined) w.resubscribed()
      let rest = ''
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        rest += chunk.toString('utf8')
        let nl: number
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl)
          rest = rest.slice(nl + 1)
          if (line.trim() === '') continue
          const ev = JSON.parse(line) as { Action?: string, status?: string, id?: string, time?: number, Actor?: { ID?: string, Attributes?: Record<string, string> } }
          since = ev.time ?? since
          w.onEvent(ev.Action ?? ev.status ?? '', ev.Actor?.ID ?? ev.id ?? '')
        }
        if (rest.length > 1024 * 1024) throw new Error('docker events: a line over 1 MiB')
      }
    } catch (err) {
      if (stop.aborted) break
      w.warn(`docker logs: events stream failed, resubscribing: ${String(err)}`)
    }
    w.subscribed() // let follow() go on even when the first subscription failed
    await sleep(1000, undefined, { signal: stop }).catch(() => undefined)
  }
}
