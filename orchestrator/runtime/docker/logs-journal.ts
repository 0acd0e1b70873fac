/**
 * The cursor journal of a logs folder and its crash recovery: which part of
 * each container's log the files hold, kept right when the orchestrator dies
 * at any point, with nothing fsynced (this protects against the orchestrator
 * dying, not against the host losing power).
 *
 * Write-ahead, group commit: the lines read from all containers go out as one
 * batch (logs-writer.ts). First one record is appended to
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
 * `.docker-cursors.json` (written atomically: temporary file, then rename) once
 * it grows past `journalBytesMax` or `snapshotIntervalMs` has passed.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cursor, StreamName } from './demux.ts'
import { fileSize, readIfExists, writeAllSync } from './logs-fs.ts'

export const CURSORS_FILE = '.docker-cursors.json'
export const JOURNAL_FILE = '.docker-cursors.journal'

export class CursorFileError extends Error {
  override name = 'CursorFileError'
}

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

// ---------------------------------------------------------------------------
// Recovery (pure).

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
      containers[id] = cleanState(merged)
    }
  })
  return { snapshot: { version: 1, seq, containers }, torn }
}

/** `s` without its undefined fields and zero skips (the form that is persisted). */
export function cleanState (s: ContainerState): ContainerState {
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
// The files.

export interface JournalLimits {
  /** The journal is folded into the snapshot once it holds more than this. */
  journalBytesMax: number
  snapshotIntervalMs: number
}

/** The committed state of a logs folder: the snapshot, the journal since, and each container's state as the files hold it. */
export class CursorJournal {
  private readonly logsDir: string
  private readonly limits: JournalLimits
  private committed = new Map<string, ContainerState>()
  private seq = 0
  private fd: number | undefined
  private bytes = 0
  private lastSnapshotMs = 0

  constructor (logsDir: string, limits: JournalLimits) {
    this.logsDir = logsDir
    this.limits = limits
  }

  /** Reads the snapshot and replays the journal against the files' sizes; then folds them into a new snapshot. */
  async load (warn: (message: string) => void): Promise<void> {
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
    for (const t of torn) warn(`docker logs: a write was cut (${t}); the rest comes from Docker again`)
    this.committed = new Map(Object.entries(snapshot.containers))
    this.seq = snapshot.seq
  }

  /** Opens the journal for appending and writes a snapshot of the loaded state. */
  open (): void {
    this.fd = openSync(join(this.logsDir, JOURNAL_FILE), 'a')
    this.bytes = fstatSync(this.fd).size
    this.snapshot()
  }

  get (id: string): ContainerState | undefined {
    return this.committed.get(id)
  }

  ids (): string[] {
    return [...this.committed.keys()]
  }

  /** A destroyed container: its state goes (the next batch records that). */
  drop (id: string): void {
    this.committed.delete(id)
  }

  /** Write-ahead: the record of a batch, before its lines go to the files. */
  append (c: Record<string, ContainerState | null>, f: JournalFileWrite[]): void {
    const rec: JournalRecord = { seq: this.seq + 1, c, f }
    const text = Buffer.from(JSON.stringify(rec) + '\n')
    writeAllSync(this.fd as number, [text])
    this.bytes += text.length
    this.seq = rec.seq
  }

  /** The batch's lines are in the files: its states are the committed ones. */
  commit (c: Record<string, ContainerState | null>): void {
    for (const [id, st] of Object.entries(c)) {
      if (st === null) this.committed.delete(id)
      else this.committed.set(id, st)
    }
  }

  snapshotIfDue (): void {
    if (this.bytes > this.limits.journalBytesMax || Date.now() - this.lastSnapshotMs > this.limits.snapshotIntervalMs) this.snapshot()
  }

  snapshot (): void {
    const snap: CursorSnapshot = { version: 1, seq: this.seq, containers: Object.fromEntries(this.committed) }
    const path = join(this.logsDir, CURSORS_FILE)
    writeFileSync(path + '.tmp', JSON.stringify(snap) + '\n')
    renameSync(path + '.tmp', path)
    // Records up to `seq` are in the snapshot now; a crash before this truncation only leaves records that replay skips.
    if (this.fd !== undefined && this.bytes > 0) {
      ftruncateSync(this.fd, 0)
      this.bytes = 0
    }
    this.lastSnapshotMs = Date.now()
  }

  close (): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
