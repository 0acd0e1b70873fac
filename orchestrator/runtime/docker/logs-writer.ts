/**
 * The batched writer of a logs folder: lines read from any container wait in
 * memory, and every flush sends all of them out as one batch: the journal
 * record first (logs-journal.ts), then one append per file. Batches are
 * serialised; once one fails half-way, no further batch and no snapshot may
 * run (the journal holds what recovery needs).
 */
import { closeSync, fstatSync, openSync } from 'node:fs'
import { join } from 'node:path'
import type { StreamName } from './demux.ts'
import { writeAllSync } from './logs-fs.ts'
import type { ContainerState, CursorJournal, JournalFileWrite, Segment } from './logs-journal.ts'

export interface WriterLimits {
  /** Read lines held for the next batch; readers wait for the batch above this. */
  pendingBytesMax: number
  /** Log files kept open at once (least recently used closed first). */
  openFilesMax: number
}

export interface WriterCounters { lines: number, bytes: number, batches: number }

interface PendingFile { chunks: Buffer[], bytes: number, segs: Segment[] }

export class BatchWriter {
  private readonly logsDir: string
  private readonly journal: CursorJournal
  private readonly limits: WriterLimits
  /** The state to record for a touched container (undefined: no longer tracked). */
  private readonly stateOf: (id: string) => ContainerState | undefined
  private readonly counters: WriterCounters
  private pending = new Map<string, PendingFile>()
  private pendingBytes = 0
  private dirty = new Set<string>()
  private forgotten = new Set<string>()
  private sizes = new Map<string, number>()
  /** Open append descriptors of the log files, least recently used first. */
  private fds = new Map<string, number>()
  private flushChain: Promise<void> = Promise.resolve()
  /** A batch failed half-way: the journal holds what recovery needs, so no snapshot may replace it. */
  private broken = false

  constructor (logsDir: string, journal: CursorJournal, limits: WriterLimits, stateOf: (id: string) => ContainerState | undefined, counters: WriterCounters) {
    this.logsDir = logsDir
    this.journal = journal
    this.limits = limits
    this.stateOf = stateOf
    this.counters = counters
  }

  /** A fresh start (the journal was just loaded): nothing pending, sizes read again. */
  reset (): void {
    this.broken = false
    this.sizes.clear()
    this.pending.clear()
    this.pendingBytes = 0
    this.dirty.clear()
    this.forgotten.clear()
  }

  get failed (): boolean { return this.broken }

  /** More is held than `pendingBytesMax`: readers should wait for a flush. */
  get overfull (): boolean { return this.pendingBytes > this.limits.pendingBytesMax }

  /** The container's state goes into the next batch's record. */
  touch (id: string): void {
    this.dirty.add(id)
  }

  /** The next batch's record forgets the container. */
  forget (id: string): void {
    this.forgotten.add(id)
    this.dirty.delete(id)
  }

  /** One line (or what is left of it) of container `id`'s `stream`, for `file`. */
  append (file: string, id: string, stream: StreamName, data: Buffer): void {
    let pf = this.pending.get(file)
    if (pf === undefined) { pf = { chunks: [], bytes: 0, segs: [] }; this.pending.set(file, pf) }
    pf.chunks.push(data)
    pf.bytes += data.length
    const seg = pf.segs.at(-1)
    if (seg !== undefined && seg[0] === id && seg[1] === stream) seg[2] += data.length
    else pf.segs.push([id, stream, data.length])
    this.pendingBytes += data.length
    this.counters.lines++
    this.counters.bytes += data.length
  }

  /** A flush in the background, if there is anything to write; `onError` gets its failure. */
  flushSoon (onError: (err: unknown) => void): void {
    if (this.pending.size > 0 || this.dirty.size > 0 || this.forgotten.size > 0) this.flush().catch(onError)
  }

  /** Writes everything read so far (serialised: one batch at a time). */
  async flush (): Promise<void> {
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

  /** The last flush and a snapshot, unless a batch failed. */
  async finish (): Promise<void> {
    if (this.broken) return
    await this.flush()
    this.journal.snapshot()
  }

  close (): void {
    for (const fd of this.fds.values()) closeSync(fd)
    this.fds.clear()
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
    for (const id of this.dirty) { const st = this.stateOf(id); if (st !== undefined) c[id] = st }
    for (const id of this.forgotten) c[id] = null
    this.dirty = new Set()
    this.forgotten = new Set()
    const f: JournalFileWrite[] = []
    for (const [file, pf] of files) f.push({ file, from: this.sizeOf(file), segs: pf.segs })
    this.journal.append(c, f)
    for (const w of f) {
      const pf = files.get(w.file) as PendingFile
      writeAllSync(this.fd(w.file), pf.chunks)
      this.sizes.set(w.file, w.from + pf.bytes)
    }
    this.journal.commit(c)
    this.counters.batches++
    this.journal.snapshotIfDue()
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
    if (this.fds.size >= this.limits.openFilesMax) {
      const [oldest, fd] = this.fds.entries().next().value as [string, number]
      this.fds.delete(oldest)
      closeSync(fd)
    }
    const fd = openSync(join(this.logsDir, file), 'a')
    this.fds.set(file, fd)
    return fd
  }
}
