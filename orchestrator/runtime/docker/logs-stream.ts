/**
 * One container's log as the collector reads it: a catch-up pass (no follow)
 * or a follow loop, both from the cursor, and the lines they complete handed
 * to the writer.
 *
 * Cursor and dedupe (see demux.ts for the rule on one stream):
 * - Per container and stream, the cursor is the Docker timestamp of the last
 *   message of the last line appended and how many messages carry exactly that
 *   timestamp (pieces of a long line share one). A fetch from `since <= cursor`
 *   drops messages up to the cursor, so re-reading is harmless.
 * - Per container, `safe`: every message not appended yet was stamped at or after
 *   `safe - skew`. It is the smaller of the last message read and the start of a
 *   line still being joined. A fetch starts there (`since` is in whole seconds),
 *   or, cheaper for the daemon, reads only the last `tailLines` messages when the
 *   oldest of them proves that nothing older is missing (demux.ts windowCovers).
 *   json-file has no index: `since` alone makes dockerd decode the whole log
 *   (about 6 us per line here), which a storm of restarts multiplies. A follow
 *   stream can only judge its window by the first message; when that fails it
 *   tries a 16 times longer tail, then `since`.
 * - Assumed: a message reaches the log at most `skewMs` after one stamped
 *   before it, and the host clock does not step back by more than that while
 *   containers log (Docker's own `since` has the same weakness).
 */
import type Dockerode from 'dockerode'
import { setTimeout as sleep } from 'node:timers/promises'
import { LineAssembler, tsAddMs, tsFloorSeconds, windowCovers, type AssembledLine, type LogMessage, type StreamName } from './demux.ts'
import { cleanState, type ContainerState, type CursorJournal } from './logs-journal.ts'
import { openLogs, readMessages, type LogResponse, type Outcome } from './logs-response.ts'
import type { BatchWriter } from './logs-writer.ts'

export interface StreamOptions { tailLines: number, skewMs: number, lineBytesMax: number }

/** What a container's reader shares with the collector. */
export interface StreamContext {
  readonly docker: Dockerode
  readonly opt: StreamOptions
  readonly warn: (message: string) => void
  readonly journal: CursorJournal
  readonly writer: BatchWriter
  readonly counters: { refetches: number }
  /** Runs `fn` once fewer than `concurrency` fetches are in flight. */
  withSlot: <T>(fn: () => Promise<T>) => Promise<T>
  /** The signal of follow(), if it runs. */
  stop: () => AbortSignal | undefined
  /** The container was destroyed; `owner`: its reader drops it (having read what was left). */
  forget: (id: string, owner: boolean) => void
}

const EXT: Record<StreamName, string> = { out: '.log', err: '.err' }

export class ContainerLog {
  readonly id: string
  readonly name: string
  /** A fetch or a follow loop owns the assemblers. */
  busy = false
  /** A start arrived while busy: follow (again) once free. */
  again = false
  queued = false
  /** Destroyed: nothing more to read. */
  gone = false
  private readonly out: LineAssembler
  private readonly err: LineAssembler
  /** Timestamp of the last message read (either stream). */
  private frontier: string | undefined
  private readonly skip: Record<StreamName, number>
  private readonly ctx: StreamContext

  /** `st`: the committed state of the container, if any (its first name keeps its file). */
  constructor (id: string, name: string, st: ContainerState | undefined, ctx: StreamContext) {
    this.id = id
    this.name = st?.name ?? name
    this.out = new LineAssembler(st?.out, ctx.opt.lineBytesMax)
    this.err = new LineAssembler(st?.err, ctx.opt.lineBytesMax)
    this.skip = { out: st?.skip?.out ?? 0, err: st?.skip?.err ?? 0 }
    this.ctx = ctx
  }

  /** Every message not appended yet was stamped at or after this, minus the skew. */
  safe (): string | undefined {
    const committed = this.ctx.journal.get(this.id)?.safe
    let cand = this.frontier
    for (const o of [this.out.openTs(), this.err.openTs()]) if (o !== undefined && (cand === undefined || o < cand)) cand = o
    if (cand === undefined) return committed
    return committed === undefined || cand > committed ? cand : committed
  }

  /** The state to commit with the lines handed to the writer so far. */
  state (): ContainerState {
    const safe = this.safe()
    return cleanState({ name: this.name, out: this.out.done, err: this.err.done, ...(safe !== undefined ? { safe } : {}), skip: { ...this.skip } })
  }

  /** One non-follow pass over the log from the cursor. */
  async catchUp (): Promise<void> {
    try {
      await this.catchUpOnce()
    } catch (err) {
      this.endFetch(false)
      throw err
    }
  }

  /** Follows the log until the container stops for good, is destroyed, or follow() ends. */
  async follow (): Promise<void> {
    const { opt, warn, counters } = this.ctx
    const stop = this.ctx.stop() as AbortSignal
    let tailStep = 0 // 0: tailLines, 1: 16 x tailLines, 2: no tail (since)
    let quick = 0
    while (!stop.aborted) {
      const safe = this.safe()
      const useTail = tailStep < 2 && safe !== undefined
      const attachedMs = Date.now()
      let outcome: Outcome | 'error' = 'ended'
      let got = 0
      this.out.begin()
      this.err.begin()
      try {
        const q = useTail ? { follow: true, tail: opt.tailLines * (tailStep === 0 ? 1 : 16) } : { follow: true, since: this.sinceOf(safe) }
        const res = await this.ctx.withSlot(async () => await openLogs(this.ctx.docker, this.id, q, stop))
        let checked = !useTail
        outcome = await this.read(res, (s, m) => {
          if (!checked) {
            if (!windowCovers(m.ts, safe as string, opt.skewMs)) return false
            checked = true
          }
          got++
          this.take(s, m)
          return true
        }, true)
      } catch (err) {
        if (stop.aborted) break
        if ((err as { statusCode?: number }).statusCode === 404) { this.endFetch(false); this.ctx.forget(this.id, true); return }
        warn(`docker logs: ${this.name}: stream failed: ${String(err)}`)
        outcome = 'error'
      }
      if (outcome === 'uncovered') {
        counters.refetches++
        this.endFetch(false)
        tailStep++
        continue
      }
      tailStep = 0
      // The stream ended: the container stopped, or the connection broke.
      let st: { running: boolean, gone: boolean }
      try {
        st = await this.inspectState()
      } catch (err) {
        if (stop.aborted) break
        warn(`docker logs: ${this.name}: inspect failed: ${String(err)}`)
        st = { running: true, gone: false } // try again after a pause
        quick = 10
      }
      // An open line is final only if the container stopped and its stream ended normally (all delivered).
      this.endFetch(!st.running && outcome === 'ended')
      if (st.gone) { this.ctx.forget(this.id, true); return }
      if (!st.running && !this.again) return // the next start event follows it again
      this.again = false
      quick = got === 0 && Date.now() - attachedMs < 1000 ? quick + 1 : 0
      if (quick >= 3 || outcome === 'error') await sleep(1000, undefined, { signal: stop }).catch(() => undefined)
    }
    this.endFetch(false)
  }

  private async catchUpOnce (): Promise<void> {
    const { opt, counters, docker } = this.ctx
    const safe = this.safe()
    const startedMs = Date.now()
    const signal = this.ctx.stop()
    this.out.begin()
    this.err.begin()
    let done = false
    if (safe !== undefined) {
      const res = await openLogs(docker, this.id, { follow: false, tail: opt.tailLines }, signal)
      const window: Array<[StreamName, LogMessage]> = []
      await this.read(res, (s, m) => { window.push([s, m]) })
      const oldest = window[0]?.[1].ts
      if (window.length < opt.tailLines || (oldest !== undefined && windowCovers(oldest, safe, opt.skewMs))) {
        for (const [s, m] of window) this.take(s, m)
        done = true
      } else {
        counters.refetches++
      }
    }
    if (!done) {
      const res = await openLogs(docker, this.id, { follow: false, since: this.sinceOf(safe) }, signal)
      await this.read(res, (s, m) => { this.take(s, m) }, true)
    }
    let final = false
    if (this.out.openTs() !== undefined || this.err.openTs() !== undefined) {
      // A line without its end: complete only if the container had stopped before this fetch.
      const st = await this.inspectState()
      final = !st.running && st.finishedMs !== undefined && st.finishedMs < startedMs
    }
    this.endFetch(final)
  }

  private async read (res: LogResponse, each: (s: StreamName, m: LogMessage) => boolean | void, backpressure = false): Promise<Outcome> {
    const { opt, warn, writer } = this.ctx
    return await readMessages(res, { name: this.name, lineBytesMax: opt.lineBytesMax, warn, ...(backpressure ? { backpressure: writer } : {}) }, each)
  }

  private take (s: StreamName, m: LogMessage): void {
    this.frontier = m.ts
    for (const line of this[s].push(m.ts, m.body)) this.emit(s, line)
  }

  /** A fetch is over: close (final) or drop the lines still open. */
  private endFetch (final: boolean): void {
    if (!final) {
      for (const o of [this.out.openTs(), this.err.openTs()]) {
        if (o !== undefined && (this.frontier === undefined || o < this.frontier)) this.frontier = o
      }
    }
    for (const s of ['out', 'err'] as const) for (const line of this[s].end(final)) this.emit(s, line)
  }

  private emit (s: StreamName, line: AssembledLine): void {
    this.ctx.writer.touch(this.id)
    let data = line.data
    const skip = this.skip[s]
    if (skip > 0) { // these bytes reached the file before a crash
      const drop = Math.min(skip, data.length)
      this.skip[s] -= drop
      data = data.subarray(drop)
    }
    if (line.truncatedBytes !== undefined) this.ctx.warn(`docker logs: ${this.name}: a line of ${line.truncatedBytes} bytes was truncated`)
    if (data.length === 0) return
    this.ctx.writer.append(this.name + EXT[s], this.id, s, data)
  }

  private async inspectState (): Promise<{ running: boolean, gone: boolean, finishedMs?: number }> {
    try {
      const info = await this.ctx.docker.getContainer(this.id).inspect()
      return { running: info.State.Running, gone: false, finishedMs: Date.parse(info.State.FinishedAt) }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { running: false, gone: true }
      throw err
    }
  }

  /** The since (seconds) of a full fetch: every message not appended yet is at or after it. */
  private sinceOf (safe: string | undefined): number | undefined {
    return safe === undefined ? undefined : Math.max(0, tsFloorSeconds(tsAddMs(safe, -this.ctx.opt.skewMs)))
  }
}
