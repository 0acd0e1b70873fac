/**
 * DockerLogCollector: keeps `<logsDir>/<name>.log` (stdout) and `<name>.err`
 * (stderr) of every container of a run complete, one whole line at a time,
 * across container restarts and orchestrator deaths, with no line lost or
 * written twice. Docker keeps a container's log across its restarts, but every
 * follow stream ends at a restart (docker/cli#3426, docker/compose#8925): so the
 * collector re-follows on each `start` event, from a cursor.
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
 *
 * Crash safety (write-ahead, group commit): every `flushIntervalMs` the lines
 * read from all containers go out as one batch. First one record is appended to
 * `.docker-cursors.journal`: for each file, its size before the batch, the
 * batch's segments (container, stream, bytes), and every touched container's
 * cursor after the batch. Then the lines are appended. At start-up the last
 * record is checked against the files' sizes: a file that grew by the whole
 * batch keeps the new cursors; one that did not grow keeps the old ones (those
 * lines are fetched again); one that grew by part of the batch (a write cut by
 * SIGKILL) keeps the old cursor and remembers how many bytes of that stream's
 * next output are already in the file, and drops them when they come again.
 * So the decision is a comparison of sizes: no content matching, which would be
 * ambiguous when a process prints the same line twice. The journal costs one
 * small write per batch, not per line or per container, and is folded into
 * `.docker-cursors.json` (written atomically: temporary file, then rename)
 * every `snapshotIntervalMs`. This protects against the orchestrator dying, not
 * against the host losing power (nothing is fsynced).
 */
import type Dockerode from 'dockerode'
import type { IncomingMessage } from 'node:http'
import { closeSync, fstatSync, ftruncateSync, openSync, renameSync, writeFileSync, writevSync } from 'node:fs'
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  FRAME_STDERR, FRAME_STDOUT, FRAME_SYSTEMERR, FrameDemuxer, LINE_BYTES_MAX, LineAssembler, RawLineSplitter,
  isMultiplexed, parseMessage, tsAddMs, tsFloorSeconds, windowCovers,
  type AssembledLine, type Cursor, type Frame, type LogMessage, type StreamName
} from './demux.ts'

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

export const CURSORS_FILE = '.docker-cursors.json'
export const JOURNAL_FILE = '.docker-cursors.journal'
export const LOCK_FILE = '.docker-cursors.lock'

export class DockerLogsLockedError extends Error {
  override name = 'DockerLogsLockedError'
}

export class CursorFileError extends Error {
  override name = 'CursorFileError'
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

// ---------------------------------------------------------------------------
// Persistent state and its recovery (pure).

export interface ContainerState {
  name: string
  out?: Cursor
  err?: Cursor
  safe?: string
  /** Bytes of this stream's next lines that a cut write already put in the file. */
  skip?: Partial<Record<StreamName, number>>
}

export interface CursorSnapshot { version: 1, seq: number, containers: Record<string, ContainerState> }

export type Segment = [id: string, stream: StreamName, bytes: number]

export interface JournalFileWrite { file: string, from: number, segs: Segment[] }

export interface JournalRecord {
  seq: number
  /** Each touched container's state once the batch is in the files (null: forget it). */
  c: Record<string, ContainerState | null>
  f: JournalFileWrite[]
}

export interface Replayed { snapshot: CursorSnapshot, torn: string[] }

/**
 * The state after the journal's records, given each file's size now. Every
 * record but the last was fully written (a batch starts after the previous one
 * ended). The last one is judged file by file from the sizes.
 */
export function replayJournal (base: CursorSnapshot, records: JournalRecord[], sizeOf: (file: string) => number): Replayed {
  const containers: Record<string, ContainerState> = { ...base.containers }
  const todo = records.filter(r => r.seq > base.seq)
  const torn: string[] = []
  let seq = base.seq
  todo.forEach((rec, i) => {
    seq = rec.seq
    const last = i === todo.length - 1
    const landed = new Map<string, { total: number, landed: number }>()
    for (const w of rec.f) {
      const total = w.segs.reduce((a, s) => a + s[2], 0)
      let left = last ? Math.max(0, Math.min(total, sizeOf(w.file) - w.from)) : total
      if (left > 0 && left < total) torn.push(`${w.file}: ${left} of ${total} bytes`)
      for (const [id, stream, bytes] of w.segs) {
        const k = `${id}\n${stream}`
        const e = landed.get(k) ?? { total: 0, landed: 0 }
        e.total += bytes
        e.landed += Math.min(bytes, left)
        left = Math.max(0, left - bytes)
        landed.set(k, e)
      }
    }
    for (const [id, next] of Object.entries(rec.c)) {
      if (next === null) { delete containers[id]; continue }
      const old = containers[id]
      const merged: ContainerState = { ...next }
      let whole = true
      for (const s of ['out', 'err'] as const) {
        const e = landed.get(`${id}\n${s}`)
        if (e === undefined || e.landed === e.total) continue
        whole = false
        merged[s] = old?.[s]
        merged.skip = { ...merged.skip, [s]: (old?.skip?.[s] ?? 0) + e.landed }
      }
      if (!whole) merged.safe = old?.safe
      containers[id] = clean(merged)
    }
  })
  return { snapshot: { version: 1, seq, containers }, torn }
}

function clean (s: ContainerState): ContainerState {
  const out: ContainerState = { name: s.name }
  if (s.out !== undefined) out.out = s.out
  if (s.err !== undefined) out.err = s.err
  if (s.safe !== undefined) out.safe = s.safe
  const skip: Partial<Record<StreamName, number>> = {}
  if ((s.skip?.out ?? 0) > 0) skip.out = s.skip?.out
  if ((s.skip?.err ?? 0) > 0) skip.err = s.skip?.err
  if (Object.keys(skip).length > 0) out.skip = skip
  return out
}

/** Records of a journal file; a last line cut by a crash (no newline, or not JSON) is ignored. */
export function parseJournal (text: string): JournalRecord[] {
  const lines = text.split('\n')
  lines.pop() // either '' after the last newline, or a cut record
  const out: JournalRecord[] = []
  for (const line of lines) {
    try {
      out.push(JSON.parse(line) as JournalRecord)
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err
      throw new CursorFileError(`${JOURNAL_FILE}: a record that is not JSON before the last line`)
    }
  }
  return out
}

// ---------------------------------------------------------------------------

interface Tracked {
  id: string
  name: string
  out: LineAssembler
  err: LineAssembler
  /** Timestamp of the last message read (either stream). */
  frontier: string | undefined
  skip: Record<StreamName, number>
  /** A fetch or a follow loop owns the assemblers. */
  busy: boolean
  /** A start arrived while busy: follow (again) once free. */
  again: boolean
  queued: boolean
  /** Destroyed: nothing more to read. */
  gone: boolean
}

interface PendingFile { chunks: Buffer[], bytes: number, segs: Segment[] }

type Outcome = 'ended' | 'uncovered'
type LogResponse = IncomingMessage

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/
const EXT: Record<StreamName, string> = { out: '.log', err: '.err' }

export class DockerLogCollector {
  private readonly docker: Dockerode
  private readonly logsDir: string
  private readonly labels: string[]
  private readonly nameOf: (c: ContainerRef) => string | null
  private readonly opt: typeof DOCKER_LOGS_DEFAULTS
  private readonly warn: (message: string) => void

  private committed = new Map<string, ContainerState>()
  private tracked = new Map<string, Tracked>()
  private ignored = new Set<string>()
  private seq = 0
  private pending = new Map<string, PendingFile>()
  private pendingBytes = 0
  private dirty = new Set<string>()
  private forgotten = new Set<string>()
  private sizes = new Map<string, number>()
  /** Open append descriptors of the log files, least recently used first. */
  private fds = new Map<string, number>()
  private journal: number | undefined
  private journalBytes = 0
  private lastSnapshotMs = 0
  private flushChain: Promise<void> = Promise.resolve()
  private fatal: unknown
  /** A batch failed half-way: the journal holds what recovery needs, so no snapshot may replace it. */
  private broken = false
  private slots = 0
  private readonly slotWaiters: Array<() => void> = []
  private streams = 0
  private readonly streamQueue: Tracked[] = []
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
            await this.withSlot(async () => { await this.catchUp(t) })
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
      const events = this.watchEvents(ac.signal, () => { subscribed() })
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
    await this.lock()
    try {
      await this.load()
    } catch (err) {
      await this.unlock()
      throw err
    }
  }

  private async finish (): Promise<void> {
    try {
      if (!this.broken) {
        await this.flush()
        this.writeSnapshot()
      }
    } finally {
      for (const fd of this.fds.values()) closeSync(fd)
      this.fds.clear()
      if (this.journal !== undefined) closeSync(this.journal)
      this.journal = undefined
      await this.unlock()
    }
    if (this.fatal !== undefined) {
      const err = this.fatal
      this.fatal = undefined
      throw err
    }
  }

  private async lock (): Promise<void> {
    const path = join(this.logsDir, LOCK_FILE)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx')
        await fh.writeFile(String(process.pid))
        await fh.close()
        return
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      // Two collectors appending to the same files would write every line twice.
      const holder = Number((await readIfExists(path) ?? '').trim())
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new DockerLogsLockedError(`${path}: collector pid ${holder} is running`)
      }
      await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
    }
    throw new DockerLogsLockedError(`${path}: another collector took it`)
  }

  private async unlock (): Promise<void> {
    await unlink(join(this.logsDir, LOCK_FILE)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  }

  private async load (): Promise<void> {
    let base: CursorSnapshot = { version: 1, seq: 0, containers: {} }
    const text = await readIfExists(join(this.logsDir, CURSORS_FILE))
    if (text !== undefined) {
      try {
        base = JSON.parse(text) as CursorSnapshot
      } catch (err) {
        throw new CursorFileError(`${CURSORS_FILE}: not JSON (${String(err)})`)
      }
      if (base.version !== 1) throw new CursorFileError(`${CURSORS_FILE}: version ${String(base.version)}`)
    }
    const records = parseJournal(await readIfExists(join(this.logsDir, JOURNAL_FILE)) ?? '')
    const sizes = new Map<string, number>()
    const last = records.at(-1)
    for (const w of last?.f ?? []) sizes.set(w.file, await fileSize(join(this.logsDir, w.file)))
    const { snapshot, torn } = replayJournal(base, records, f => sizes.get(f) ?? 0)
    for (const t of torn) this.warn(`docker logs: a write was cut (${t}); the rest comes from Docker again`)
    this.committed = new Map(Object.entries(snapshot.containers))
    this.seq = snapshot.seq
    this.broken = false
    this.fatal = undefined
    this.tracked.clear()
    this.ignored.clear()
    this.sizes.clear()
    this.pending.clear()
    this.pendingBytes = 0
    this.dirty.clear()
    this.forgotten.clear()
    this.journal = openSync(join(this.logsDir, JOURNAL_FILE), 'a')
    this.journalBytes = fstatSync(this.journal).size
    this.writeSnapshot()
  }

  // --- containers ------------------------------------------------------------

  private track (id: string, name: string): Tracked {
    const known = this.tracked.get(id)
    if (known !== undefined) return known
    const st = this.committed.get(id)
    const t: Tracked = {
      id,
      name: st?.name ?? name, // the first name a container got keeps its file
      out: new LineAssembler(st?.out, this.opt.lineBytesMax),
      err: new LineAssembler(st?.err, this.opt.lineBytesMax),
      frontier: undefined,
      skip: { out: st?.skip?.out ?? 0, err: st?.skip?.err ?? 0 },
      busy: false,
      again: false,
      queued: false,
      gone: false
    }
    this.tracked.set(id, t)
    return t
  }

  private resolve (ref: ContainerRef): Tracked | undefined {
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
    return this.track(ref.id, name)
  }

  /** Matching containers, tracked; forgets those Docker no longer has. */
  private async listOurs (all: boolean): Promise<Array<{ t: Tracked, running: boolean }>> {
    const list = await this.docker.listContainers({ all, filters: { label: this.labels } })
    const out: Array<{ t: Tracked, running: boolean }> = []
    for (const c of list) {
      const t = this.resolve({ id: c.Id, labels: c.Labels ?? {}, name: (c.Names?.[0] ?? '').replace(/^\//, '') })
      if (t !== undefined) out.push({ t, running: c.State === 'running' })
    }
    if (all) {
      const present = new Set(list.map(c => c.Id))
      for (const id of [...this.committed.keys()]) if (!present.has(id)) this.forget(id)
    }
    return out
  }

  /** Drops a destroyed container's cursor. A busy one is dropped by its owner (which reads what is left first). */
  private forget (id: string, owner = false): void {
    const t = this.tracked.get(id)
    if (t?.busy === true && !owner) return
    if (t !== undefined) t.gone = true
    this.tracked.delete(id)
    this.committed.delete(id)
    this.forgotten.add(id)
    this.dirty.delete(id)
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
  private want (t: Tracked): void {
    if (this.stop?.aborted !== false) return
    if (t.busy) { t.again = true; return }
    if (this.streams >= this.opt.streamsMax) {
      if (!t.queued) { t.queued = true; this.streamQueue.push(t) }
      return
    }
    t.busy = true
    this.streams++
    this.spawn(this.followLoop(t).finally(() => {
      this.streams--
      t.busy = false
      const next = this.streamQueue.shift()
      if (next !== undefined) { next.queued = false; this.want(next) }
      if (t.again && !t.gone) { t.again = false; this.want(t) }
    }))
  }

  private async catchUpOwned (t: Tracked): Promise<void> {
    if (t.busy) return
    t.busy = true
    try {
      await this.withSlot(async () => { await this.catchUp(t) })
    } catch (err) {
      if (this.stop?.aborted !== true) this.warn(`docker logs: ${t.name}: catch-up failed: ${String(err)}`)
    } finally {
      t.busy = false
    }
    if (t.again && !t.gone) { t.again = false; this.want(t) }
  }

  private spawn (p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => { this.fail(err) }).finally(() => { this.work.delete(tracked) })
    this.work.add(tracked)
  }

  /** A broken invariant or a failed write: stop following; follow() rethrows it. */
  private fail (err: unknown): void {
    this.fatal ??= err
    this.warn(`docker logs: ${String(err)}`)
    this.abortAll?.()
  }

  // --- events ----------------------------------------------------------------

  private async watchEvents (stop: AbortSignal, subscribed: () => void): Promise<void> {
    let since: number | undefined
    while (!stop.aborted) {
      try {
        const stream = await this.docker.getEvents({
          filters: { type: ['container'], label: this.labels, event: ['start', 'destroy'] },
          ...(since !== undefined ? { since } : {}),
          abortSignal: stop
        })
        subscribed()
        if (since !== undefined) this.spawn(this.reconcile(false)) // events may have been missed
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
            this.onEvent(ev.Action ?? ev.status ?? '', ev.Actor?.ID ?? ev.id ?? '')
          }
          if (rest.length > 1024 * 1024) throw new Error('docker events: a line over 1 MiB')
        }
      } catch (err) {
        if (stop.aborted) break
        this.warn(`docker logs: events stream failed, resubscribing: ${String(err)}`)
      }
      subscribed() // let follow() go on even when the first subscription failed
      await sleep(1000, undefined, { signal: stop }).catch(() => undefined)
    }
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

  // --- fetching --------------------------------------------------------------

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

  private async openLogs (id: string, q: { follow: boolean, tail?: number, since?: number }, signal?: AbortSignal): Promise<LogResponse> {
    const options: Record<string, unknown> = { follow: q.follow, stdout: true, stderr: true, timestamps: true }
    if (q.tail !== undefined) options.tail = q.tail
    if (q.since !== undefined) options.since = q.since
    return await new Promise((resolve, reject) => {
      this.docker.modem.dial({
        path: `/containers/${id}/logs?`,
        method: 'GET',
        isStream: true, // a stream even without follow: dockerode would buffer the whole log
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options,
        ...(signal !== undefined ? { abortSignal: signal } : {})
      }, (err, res) => { if (err !== null) reject(err); else resolve(res as IncomingMessage) })
    })
  }

  /** The since (seconds) of a full fetch: every message not appended yet is at or after it. */
  private sinceOf (safe: string | undefined): number | undefined {
    return safe === undefined ? undefined : Math.max(0, tsFloorSeconds(tsAddMs(safe, -this.opt.skewMs)))
  }

  /** One non-follow pass over a container's log from its cursor. */
  private async catchUp (t: Tracked): Promise<void> {
    try {
      await this.catchUpOnce(t)
    } catch (err) {
      this.endFetch(t, false)
      throw err
    }
  }

  private async catchUpOnce (t: Tracked): Promise<void> {
    const safe = this.safeOf(t)
    const startedMs = Date.now()
    const signal = this.stop
    t.out.begin()
    t.err.begin()
    let done = false
    if (safe !== undefined) {
      const res = await this.openLogs(t.id, { follow: false, tail: this.opt.tailLines }, signal)
      const window: Array<[StreamName, LogMessage]> = []
      await this.read(t, res, (s, m) => { window.push([s, m]) })
      const oldest = window[0]?.[1].ts
      if (window.length < this.opt.tailLines || (oldest !== undefined && windowCovers(oldest, safe, this.opt.skewMs))) {
        for (const [s, m] of window) this.take(t, s, m)
        done = true
      } else {
        this.counters.refetches++
      }
    }
    if (!done) {
      const res = await this.openLogs(t.id, { follow: false, since: this.sinceOf(safe) }, signal)
      await this.read(t, res, (s, m) => { this.take(t, s, m) }, true)
    }
    let final = false
    if (t.out.openTs() !== undefined || t.err.openTs() !== undefined) {
      // A line without its end: complete only if the container had stopped before this fetch.
      const st = await this.inspectState(t.id)
      final = !st.running && st.finishedMs !== undefined && st.finishedMs < startedMs
    }
    this.endFetch(t, final)
  }

  private async followLoop (t: Tracked): Promise<void> {
    const stop = this.stop as AbortSignal
    let tailStep = 0 // 0: tailLines, 1: 16 x tailLines, 2: no tail (since)
    let quick = 0
    while (!stop.aborted) {
      const safe = this.safeOf(t)
      const useTail = tailStep < 2 && safe !== undefined
      const attachedMs = Date.now()
      let outcome: Outcome | 'error' = 'ended'
      let got = 0
      t.out.begin()
      t.err.begin()
      try {
        const q = useTail ? { follow: true, tail: this.opt.tailLines * (tailStep === 0 ? 1 : 16) } : { follow: true, since: this.sinceOf(safe) }
        const res = await this.withSlot(async () => await this.openLogs(t.id, q, stop))
        let checked = !useTail
        outcome = await this.read(t, res, (s, m) => {
          if (!checked) {
            if (!windowCovers(m.ts, safe as string, this.opt.skewMs)) return false
            checked = true
          }
          got++
          this.take(t, s, m)
          return true
        }, true)
      } catch (err) {
        if (stop.aborted) break
        if ((err as { statusCode?: number }).statusCode === 404) { this.endFetch(t, false); this.forget(t.id, true); return }
        this.warn(`docker logs: ${t.name}: stream failed: ${String(err)}`)
        outcome = 'error'
      }
      if (outcome === 'uncovered') {
        this.counters.refetches++
        this.endFetch(t, false)
        tailStep++
        continue
      }
      tailStep = 0
      // The stream ended: the container stopped, or the connection broke.
      let st: { running: boolean, gone: boolean }
      try {
        st = await this.inspectState(t.id)
      } catch (err) {
        if (stop.aborted) break
        this.warn(`docker logs: ${t.name}: inspect failed: ${String(err)}`)
        st = { running: true, gone: false } // try again after a pause
        quick = 10
      }
      // An open line is final only if the container stopped and its stream ended normally (all delivered).
      this.endFetch(t, !st.running && outcome === 'ended')
      if (st.gone) { this.forget(t.id, true); return }
      if (!st.running && !t.again) return // the next start event follows it again
      t.again = false
      quick = got === 0 && Date.now() - attachedMs < 1000 ? quick + 1 : 0
      if (quick >= 3 || outcome === 'error') await sleep(1000, undefined, { signal: stop }).catch(() => undefined)
    }
    this.endFetch(t, false)
  }

  /**
   * Feeds a response's messages to `each` in order; resolves once the response
   * has ended, rejects if it was cut (abort, broken connection): a cut response
   * is never taken for a whole one. `each` returning false stops early (a tail
   * window that does not reach back far enough): 'uncovered'. Data events, not
   * `for await`: this runs for every line of every container, and the async
   * iterator costs about half as much again per chunk.
   */
  private async read (t: Tracked, res: LogResponse, each: (s: StreamName, m: LogMessage) => boolean | void, backpressure = false): Promise<Outcome> {
    let demux: { push: (chunk: Buffer) => Frame[] } | undefined
    return await new Promise<Outcome>((resolve, reject) => {
      let settled = false
      const settle = (outcome: Outcome | undefined, err?: unknown): void => {
        if (settled) return
        settled = true
        res.destroy()
        if (outcome !== undefined) resolve(outcome)
        else reject(err ?? new Error('the log stream closed before its end'))
      }
      const onData = (chunk: Buffer): void => {
        if (settled || chunk.length === 0) return
        try {
          if (demux === undefined) {
            if (isMultiplexed(chunk[0] as number)) demux = new FrameDemuxer()
            else {
              this.warn(`docker logs: ${t.name}: a TTY container; lines over 16 KiB cannot be joined`)
              demux = new RawLineSplitter(this.opt.lineBytesMax)
            }
          }
          for (const f of demux.push(chunk)) {
            if (f.type !== FRAME_STDOUT && f.type !== FRAME_STDERR) {
              if (f.type === FRAME_SYSTEMERR) this.warn(`docker logs: ${t.name}: engine: ${f.payload.toString('utf8', 0, 500).trim()}`)
              continue
            }
            const m = parseMessage(f.payload)
            if (m === undefined) { this.warn(`docker logs: ${t.name}: engine: ${f.payload.toString('utf8', 0, 500).trim()}`); continue }
            if (each(f.type === FRAME_STDOUT ? 'out' : 'err', m) === false) { settle('uncovered'); return }
          }
          if (backpressure && this.pendingBytes > this.opt.pendingBytesMax) {
            res.pause()
            this.flush().then(() => { res.resume() }, (err: unknown) => { settle(undefined, err) })
          }
        } catch (err) {
          settle(undefined, err)
        }
      }
      res.on('data', onData)
      res.once('end', () => { settle(res.complete === false ? undefined : 'ended') })
      res.once('error', (err: Error) => { settle(undefined, err) })
      res.once('close', () => { settle(undefined) })
    })
  }

  private take (t: Tracked, s: StreamName, m: LogMessage): void {
    t.frontier = m.ts
    for (const line of t[s].push(m.ts, m.body)) this.emit(t, s, line)
  }

  /** A fetch is over: close (final) or drop the lines still open. */
  private endFetch (t: Tracked, final: boolean): void {
    if (!final) {
      for (const o of [t.out.openTs(), t.err.openTs()]) {
        if (o !== undefined && (t.frontier === undefined || o < t.frontier)) t.frontier = o
      }
    }
    for (const s of ['out', 'err'] as const) for (const line of t[s].end(final)) this.emit(t, s, line)
  }

  private async inspectState (id: string): Promise<{ running: boolean, gone: boolean, finishedMs?: number }> {
    try {
      const info = await this.docker.getContainer(id).inspect()
      return { running: info.State.Running, gone: false, finishedMs: Date.parse(info.State.FinishedAt) }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { running: false, gone: true }
      throw err
    }
  }

  /** Every message of `t` not appended yet was stamped at or after this, minus the skew. */
  private safeOf (t: Tracked): string | undefined {
    const committed = this.committed.get(t.id)?.safe
    let cand = t.frontier
    for (const o of [t.out.openTs(), t.err.openTs()]) if (o !== undefined && (cand === undefined || o < cand)) cand = o
    if (cand === undefined) return committed
    return committed === undefined || cand > committed ? cand : committed
  }

  // --- writing ---------------------------------------------------------------

  private emit (t: Tracked, s: StreamName, line: AssembledLine): void {
    this.dirty.add(t.id)
    let data = line.data
    const skip = t.skip[s]
    if (skip > 0) { // these bytes reached the file before a crash
      const drop = Math.min(skip, data.length)
      t.skip[s] -= drop
      data = data.subarray(drop)
    }
    if (line.truncatedBytes !== undefined) this.warn(`docker logs: ${t.name}: a line of ${line.truncatedBytes} bytes was truncated`)
    if (data.length === 0) return
    const file = t.name + EXT[s]
    let pf = this.pending.get(file)
    if (pf === undefined) { pf = { chunks: [], bytes: 0, segs: [] }; this.pending.set(file, pf) }
    pf.chunks.push(data)
    pf.bytes += data.length
    const seg = pf.segs.at(-1)
    if (seg !== undefined && seg[0] === t.id && seg[1] === s) seg[2] += data.length
    else pf.segs.push([t.id, s, data.length])
    this.pendingBytes += data.length
    this.counters.lines++
    this.counters.bytes += data.length
  }

  private stateOf (t: Tracked): ContainerState {
    const safe = this.safeOf(t)
    return clean({ name: t.name, out: t.out.done, err: t.err.done, ...(safe !== undefined ? { safe } : {}), skip: { ...t.skip } })
  }

  private flushSoon (): void {
    if (this.pending.size > 0 || this.dirty.size > 0 || this.forgotten.size > 0) this.flush().catch((err: unknown) => { this.fail(err) })
  }

  /** Writes everything read so far (serialised: one batch at a time). */
  private async flush (): Promise<void> {
    const next = this.flushChain.then(() => {
      if (this.broken) throw new Error('an earlier batch failed')
      try {
        this.flushOnce()
      } catch (err) {
        this.broken = true
        throw err
      }
    })
    this.flushChain = next.catch(() => undefined)
    await next
  }

  private flushOnce (): void {
    if (this.pending.size === 0 && this.dirty.size === 0 && this.forgotten.size === 0) return
    const files = this.pending
    this.pending = new Map()
    this.pendingBytes = 0
    // Synchronous from here on, as pino writes: a batch is a few small appends into the page
    // cache, cheaper in place than a thread-pool round trip per file (measured); and the states
    // taken here match exactly the lines in `files`.
    const c: Record<string, ContainerState | null> = {}
    for (const id of this.dirty) { const t = this.tracked.get(id); if (t !== undefined) c[id] = this.stateOf(t) }
    for (const id of this.forgotten) c[id] = null
    this.dirty = new Set()
    this.forgotten = new Set()
    const f: JournalFileWrite[] = []
    for (const [file, pf] of files) f.push({ file, from: this.sizeOf(file), segs: pf.segs })
    const rec: JournalRecord = { seq: this.seq + 1, c, f }
    const text = Buffer.from(JSON.stringify(rec) + '\n')
    writeAllSync(this.journal as number, [text])
    this.journalBytes += text.length
    this.seq = rec.seq
    for (const w of f) {
      const pf = files.get(w.file) as PendingFile
      writeAllSync(this.fd(w.file), pf.chunks)
      this.sizes.set(w.file, w.from + pf.bytes)
    }
    for (const [id, st] of Object.entries(c)) {
      if (st === null) this.committed.delete(id)
      else this.committed.set(id, st)
    }
    this.counters.batches++
    if (this.journalBytes > DOCKER_LOGS_DEFAULTS.journalBytesMax || Date.now() - this.lastSnapshotMs > this.opt.snapshotIntervalMs) {
      this.writeSnapshot()
    }
  }

  private writeSnapshot (): void {
    const snap: CursorSnapshot = { version: 1, seq: this.seq, containers: Object.fromEntries(this.committed) }
    const path = join(this.logsDir, CURSORS_FILE)
    writeFileSync(path + '.tmp', JSON.stringify(snap) + '\n')
    renameSync(path + '.tmp', path)
    // Records up to `seq` are in the snapshot now; a crash before this truncation only leaves records that replay skips.
    if (this.journal !== undefined && this.journalBytes > 0) {
      ftruncateSync(this.journal, 0)
      this.journalBytes = 0
    }
    this.lastSnapshotMs = Date.now()
  }

  private sizeOf (file: string): number {
    const known = this.sizes.get(file)
    if (known !== undefined) return known
    const size = fstatSync(this.fd(file)).size
    this.sizes.set(file, size)
    return size
  }

  private fd (file: string): number {
    const known = this.fds.get(file)
    if (known !== undefined) {
      this.fds.delete(file) // most recently used last
      this.fds.set(file, known)
      return known
    }
    if (this.fds.size >= DOCKER_LOGS_DEFAULTS.openFilesMax) {
      const [oldest, fd] = this.fds.entries().next().value as [string, number]
      this.fds.delete(oldest)
      closeSync(fd)
    }
    const fd = openSync(join(this.logsDir, file), 'a')
    this.fds.set(file, fd)
    return fd
  }
}

function writeAllSync (fd: number, chunks: Buffer[]): void {
  let bufs = chunks
  while (bufs.length > 0) {
    let left = writevSync(fd, bufs.slice(0, 1024)) // IOV_MAX
    const rest: Buffer[] = []
    for (const b of bufs) {
      if (left >= b.length) { left -= b.length; continue }
      rest.push(left > 0 ? b.subarray(left) : b)
      left = 0
    }
    bufs = rest
  }
}

async function readIfExists (path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function fileSize (path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
