/**
 * DockerLogCollector: keeps `<logsDir>/<name>.log` (stdout) and `<name>.err`
 * (stderr) of every container of a run complete, one whole line at a time,
 * across container restarts and orchestrator deaths, with no line lost or
 * written twice. Docker keeps a container's log across its restarts, but every
 * follow stream ends at a restart (docker/cli#3426, docker/compose#8925): so the
 * collector re-follows on each `start` event, from a cursor.
 *
 * This file finds the containers and schedules their reading; the parts:
 * - logs-stream.ts: one container's catch-up and follow from its cursor (the
 *   cursor, `safe` and the tail windows), over logs-response.ts (one request
 *   and its messages) and demux.ts (frames, timestamps, lines, the dedupe rule);
 * - logs-writer.ts: the batched writer of the lines, every `flushIntervalMs`;
 * - logs-journal.ts: the cursor journal, write-ahead of each batch, and its
 *   crash recovery;
 * - logs-events.ts: Docker's start and destroy events;
 * - logs-lock.ts: one collector per logs folder.
 */
import type Dockerode from 'dockerode'
import { mkdir } from 'node:fs/promises'
import { LINE_BYTES_MAX } from './demux.ts'
import { watchContainerEvents } from './logs-events.ts'
import { CursorJournal } from './logs-journal.ts'
import { lockLogsDir, unlockLogsDir } from './logs-lock.ts'
import { ContainerLog, type StreamContext } from './logs-stream.ts'
import { BatchWriter } from './logs-writer.ts'

export {
  CURSORS_FILE, CursorFileError, JOURNAL_FILE, parseJournal, replayJournal,
  type ContainerState, type CursorSnapshot, type JournalFileWrite, type JournalRecord, type Replayed, type Segment
} from './logs-journal.ts'
export { DockerLogsLockedError, LOCK_FILE } from './logs-lock.ts'

export const DOCKER_LOGS_DEFAULTS = {
  /** Catch-up fetches and stream attaches in flight at once. */
  concurrency: 16,
  /** Follow streams open at once; further running containers wait for a free one. */
  streamsMax: 2000,
  lineBytesMax: LINE_BYTES_MAX,
  /** Messages read from the end of a log first (a restart rarely needs more). */
  tailLines: 256,
  /** How much later a message may reach the log than one stamped before it (both streams). */
  skewMs: 2000,
  flushIntervalMs: 100,
  /** Read lines held for the next batch; readers wait for the batch above this. */
  pendingBytesMax: 8 * 1024 * 1024,
  snapshotIntervalMs: 10_000,
  journalBytesMax: 4 * 1024 * 1024,
  /** Listing running containers again, in case an event was missed. */
  reconcileIntervalMs: 30_000,
  openFilesMax: 256
}

export interface ContainerRef { id: string, labels: Record<string, string>, name: string }

export interface DockerLogCollectorInit {
  docker: Dockerode
  logsDir: string
  /** Docker list/event filters, e.g. `{ label: ['patchday.run=r42'] }`. */
  filters: { label: string[] }
  /** The log file name of a container (`p-017`), or null when it is not ours. */
  nameOf: (c: ContainerRef) => string | null
  concurrency?: number
  streamsMax?: number
  lineBytesMax?: number
  tailLines?: number
  skewMs?: number
  flushIntervalMs?: number
  pendingBytesMax?: number
  snapshotIntervalMs?: number
  reconcileIntervalMs?: number
  onWarning?: (message: string) => void
}

export interface SyncResult { containers: number, lines: number }

export interface CollectorStats {
  /** Follow streams open now. */
  streams: number
  lines: number
  bytes: number
  /** Tail windows that did not reach back far enough, fetched again with `since`. */
  refetches: number
  batches: number
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

export class DockerLogCollector {
  private readonly docker: Dockerode
  private readonly logsDir: string
  private readonly labels: string[]
  private readonly nameOf: (c: ContainerRef) => string | null
  private readonly opt: typeof DOCKER_LOGS_DEFAULTS
  private readonly warn: (message: string) => void
  private readonly journal: CursorJournal
  private readonly writer: BatchWriter
  private readonly ctx: StreamContext

  private tracked = new Map<string, ContainerLog>()
  private ignored = new Set<string>()
  private fatal: unknown
  private slots = 0
  private readonly slotWaiters: Array<() => void> = []
  private streams = 0
  private readonly streamQueue: ContainerLog[] = []
  private readonly work = new Set<Promise<void>>()
  private stop: AbortSignal | undefined
  private abortAll: (() => void) | undefined
  private counters = { lines: 0, bytes: 0, refetches: 0, batches: 0 }

  constructor (init: DockerLogCollectorInit) {
    this.docker = init.docker
    this.logsDir = init.logsDir
    this.labels = [...init.filters.label]
    this.nameOf = init.nameOf
    const d = DOCKER_LOGS_DEFAULTS
    this.opt = {
      ...d,
      concurrency: init.concurrency ?? d.concurrency,
      streamsMax: init.streamsMax ?? d.streamsMax,
      lineBytesMax: init.lineBytesMax ?? d.lineBytesMax,
      tailLines: init.tailLines ?? d.tailLines,
      skewMs: init.skewMs ?? d.skewMs,
      flushIntervalMs: init.flushIntervalMs ?? d.flushIntervalMs,
      pendingBytesMax: init.pendingBytesMax ?? d.pendingBytesMax,
      snapshotIntervalMs: init.snapshotIntervalMs ?? d.snapshotIntervalMs,
      reconcileIntervalMs: init.reconcileIntervalMs ?? d.reconcileIntervalMs
    }
    this.warn = init.onWarning ?? (() => undefined)
    this.journal = new CursorJournal(this.logsDir, this.opt)
    this.writer = new BatchWriter(this.logsDir, this.journal, this.opt, id => this.tracked.get(id)?.state(), this.counters)
    this.ctx = {
      docker: this.docker,
      opt: this.opt,
      warn: this.warn,
      journal: this.journal,
      writer: this.writer,
      counters: this.counters,
      withSlot: async <T>(fn: () => Promise<T>): Promise<T> => await this.withSlot(fn),
      stop: () => this.stop,
      forget: (id, owner) => { this.forget(id, owner) }
    }
  }

  stats (): CollectorStats {
    return { streams: this.streams, ...this.counters }
  }

  /** One catch-up pass over every matching container, running or not. */
  async sync (): Promise<SyncResult> {
    await this.start()
    const before = this.counters.lines
    let containers = 0
    try {
      const flusher = setInterval(() => { this.flushSoon() }, this.opt.flushIntervalMs)
      try {
        const refs = await this.listOurs(true)
        const failed: unknown[] = []
        await Promise.all(refs.map(async ({ t }) => {
          try {
            await this.withSlot(async () => { await t.catchUp() })
            containers++
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode === 404) this.forget(t.id) // removed meanwhile
            else failed.push(err)
          }
        }))
        if (failed.length > 0) throw failed[0]
      } finally {
        clearInterval(flusher)
      }
    } finally {
      await this.finish()
    }
    return { containers, lines: this.counters.lines - before }
  }

  /**
   * Catch up, then follow every running container, re-following each from its
   * cursor when it starts again; new containers are found by their start event
   * (and a periodic listing). Returns once `signal` aborts, with every line read
   * written and the cursors saved.
   */
  async follow (signal: AbortSignal): Promise<void> {
    await this.start()
    const ac = new AbortController()
    const onAbort = (): void => { ac.abort() }
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) ac.abort()
    this.stop = ac.signal
    this.abortAll = () => { ac.abort() }
    const flusher = setInterval(() => { this.flushSoon() }, this.opt.flushIntervalMs)
    let reconciler: NodeJS.Timeout | undefined
    try {
      let subscribed = (): void => undefined
      const ready = new Promise<void>(resolve => { subscribed = resolve })
      const events = watchContainerEvents({
        docker: this.docker,
        labels: this.labels,
        warn: this.warn,
        subscribed: () => { subscribed() },
        resubscribed: () => { this.spawn(this.reconcile(false)) },
        onEvent: (action, id) => { this.onEvent(action, id) }
      }, ac.signal)
      await Promise.race([ready, events])
      if (!ac.signal.aborted) await this.reconcile(true)
      reconciler = setInterval(() => { this.spawn(this.reconcile(false)) }, this.opt.reconcileIntervalMs)
      if (!ac.signal.aborted) await new Promise<void>(resolve => { ac.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
      await events
    } finally {
      ac.abort()
      signal.removeEventListener('abort', onAbort)
      clearInterval(flusher)
      clearInterval(reconciler)
      while (this.work.size > 0) await Promise.allSettled([...this.work])
      this.stop = undefined
      this.abortAll = undefined
      await this.finish()
    }
  }

  // --- lifecycle -------------------------------------------------------------

  private async start (): Promise<void> {
    await mkdir(this.logsDir, { recursive: true })
    await lockLogsDir(this.logsDir)
    try {
      await this.journal.load(this.warn)
      this.fatal = undefined
      this.tracked.clear()
      this.ignored.clear()
      this.writer.reset()
      this.journal.open()
    } catch (err) {
      await unlockLogsDir(this.logsDir)
      throw err
    }
  }

  private async finish (): Promise<void> {
    try {
      await this.writer.finish()
    } finally {
      this.writer.close()
      this.journal.close()
      await unlockLogsDir(this.logsDir)
    }
    if (this.fatal !== undefined) {
      const err = this.fatal
      this.fatal = undefined
      throw err
    }
  }

  private flushSoon (): void {
    this.writer.flushSoon((err: unknown) => { this.fail(err) })
  }

  /** A broken invariant or a failed write: stop following; follow() rethrows it. */
  private fail (err: unknown): void {
    this.fatal ??= err
    this.warn(`docker logs: ${String(err)}`)
    this.abortAll?.()
  }

  private spawn (p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => { this.fail(err) }).finally(() => { this.work.delete(tracked) })
    this.work.add(tracked)
  }

  private async withSlot<T> (fn: () => Promise<T>): Promise<T> {
    while (this.slots >= this.opt.concurrency) await new Promise<void>(resolve => { this.slotWaiters.push(resolve) })
    this.slots++
    try {
      return await fn()
    } finally {
      this.slots--
      this.slotWaiters.shift()?.()
    }
  }

  // --- containers ------------------------------------------------------------

  private resolve (ref: ContainerRef): ContainerLog | undefined {
    if (this.ignored.has(ref.id)) return undefined
    const known = this.tracked.get(ref.id)
    if (known !== undefined) return known
    const name = this.nameOf(ref)
    if (name === null) { this.ignored.add(ref.id); return undefined }
    if (!NAME_RE.test(name)) {
      this.warn(`docker logs: container ${ref.id.slice(0, 12)} maps to "${name}", not a file name; skipped`)
      this.ignored.add(ref.id)
      return undefined
    }
    const t = new ContainerLog(ref.id, name, this.journal.get(ref.id), this.ctx)
    this.tracked.set(ref.id, t)
    return t
  }

  /** Matching containers, tracked; forgets those Docker no longer has. */
  private async listOurs (all: boolean): Promise<Array<{ t: ContainerLog, running: boolean }>> {
    const list = await this.docker.listContainers({ all, filters: { label: this.labels } })
    const out: Array<{ t: ContainerLog, running: boolean }> = []
    for (const c of list) {
      const t = this.resolve({ id: c.Id, labels: c.Labels ?? {}, name: (c.Names?.[0] ?? '').replace(/^\//, '') })
      if (t !== undefined) out.push({ t, running: c.State === 'running' })
    }
    if (all) {
      const present = new Set(list.map(c => c.Id))
      for (const id of this.journal.ids()) if (!present.has(id)) this.forget(id)
    }
    return out
  }

  /** Drops a destroyed container's cursor. A busy one is dropped by its owner (which reads what is left first). */
  private forget (id: string, owner = false): void {
    const t = this.tracked.get(id)
    if (t?.busy === true && !owner) return
    if (t !== undefined) t.gone = true
    this.tracked.delete(id)
    this.journal.drop(id)
    this.writer.forget(id)
  }

  private async reconcile (all: boolean): Promise<void> {
    try {
      const refs = await this.listOurs(all)
      for (const { t, running } of refs) {
        if (running && !t.busy) this.want(t)
        else if (all && !t.busy) this.spawn(this.catchUpOwned(t))
      }
    } catch (err) {
      if (this.stop?.aborted !== true) this.warn(`docker logs: listing containers failed: ${String(err)}`)
    }
  }

  /** A container that runs (or just started): give it a follow stream. */
  private want (t: ContainerLog): void {
    if (this.stop?.aborted !== false) return
    if (t.busy) { t.again = true; return }
    if (this.streams >= this.opt.streamsMax) {
      if (!t.queued) { t.queued = true; this.streamQueue.push(t) }
      return
    }
    t.busy = true
    this.streams++
    this.spawn(t.follow().finally(() => {
      this.streams--
      t.busy = false
      const next = this.streamQueue.shift()
      if (next !== undefined) { next.queued = false; this.want(next) }
      if (t.again && !t.gone) { t.again = false; this.want(t) }
    }))
  }

  private async catchUpOwned (t: ContainerLog): Promise<void> {
    if (t.busy) return
    t.busy = true
    try {
      await this.withSlot(async () => { await t.catchUp() })
    } catch (err) {
      if (this.stop?.aborted !== true) this.warn(`docker logs: ${t.name}: catch-up failed: ${String(err)}`)
    } finally {
      t.busy = false
    }
    if (t.again && !t.gone) { t.again = false; this.want(t) }
  }

  private onEvent (action: string, id: string): void {
    if (id === '' || this.ignored.has(id)) return
    if (action === 'destroy') { this.forget(id); return }
    if (action !== 'start') return
    const t = this.tracked.get(id)
    if (t !== undefined) { this.want(t); return }
    this.spawn((async () => {
      try {
        const info = await this.docker.getContainer(id).inspect()
        const nt = this.resolve({ id, labels: info.Config.Labels ?? {}, name: info.Name.replace(/^\//, '') })
        if (nt !== undefined) this.want(nt)
      } catch (err) {
        // Gone already, or the engine did not answer: the periodic listing finds it if it runs.
        if ((err as { statusCode?: number }).statusCode !== 404) this.warn(`docker logs: inspect ${id.slice(0, 12)} failed: ${String(err)}`)
      }
    })())
  }
}
