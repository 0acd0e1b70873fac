/**
 * The pure half of reading a container's log through the Docker Engine API
 * (`GET /containers/{id}/logs?timestamps=1`): the stdcopy frame demuxer, Docker's
 * RFC3339Nano timestamps, and the per-stream line assembler that applies the
 * dedupe rule and joins the pieces of long lines. No I/O: logs-response.ts feeds bytes in.
 *
 * What this rests on (measured on engine 20.10 with the json-file driver, and
 * moby's daemon/logger/copier.go):
 * - A non-TTY response is a sequence of frames `[type, 0, 0, 0, length u32 BE]`
 *   + payload, and one frame is one log message `"<timestamp> <bytes>"`: type 1
 *   stdout, 2 stderr, 3 an engine error (newer engines). Engine 20.10 reports an
 *   error in the middle of a stream as a stderr frame without a timestamp
 *   (`Error grabbing logs: ...`). Frame boundaries matter, which is why this is
 *   not `docker.modem.demuxStream` (it copies payloads into two byte streams and
 *   loses them).
 * - A TTY container's response is raw `"<timestamp> <bytes>\r\n"` lines.
 * - Docker cuts a line longer than 16 KiB into messages of exactly 16384 bytes
 *   that all carry the timestamp of the first piece; the last piece ends in "\n".
 * - A line that the process left without "\n" when its output closed (exit) is a
 *   message without "\n", normally shorter than 16384 bytes, with its own
 *   timestamp; the next message (next boot) has a later timestamp.
 * - Within one stream, the log holds messages in the order they were stamped,
 *   so timestamps never decrease (while the host clock does not step back).
 */

export const FRAME_HEADER_BYTES = 8
/** Largest frame accepted (json-file and local messages are at most 16 KiB + the timestamp). */
export const FRAME_BYTES_MAX = 4 * 1024 * 1024
/** Size of the pieces Docker cuts a long line into (copier.go bufSize). */
export const DOCKER_PARTIAL_BYTES = 16 * 1024
/** A line longer than this is replaced by a truncation marker (a JSON object). */
export const LINE_BYTES_MAX = 1024 * 1024

export const FRAME_STDIN = 0
export const FRAME_STDOUT = 1
export const FRAME_STDERR = 2
export const FRAME_SYSTEMERR = 3

export type StreamName = 'out' | 'err'

export class MalformedLogStreamError extends Error {
  override name = 'MalformedLogStreamError'
}

export interface Frame { type: number, payload: Buffer }

const EMPTY = Buffer.alloc(0)

/**
 * Splits Docker's multiplexed stream into frames, whatever the chunking. Holds
 * at most one incomplete frame (bounded by `frameBytesMax`); copies each byte at
 * most twice (chunks are joined only once a frame can be completed).
 */
export class FrameDemuxer {
  private parts: Buffer[] = []
  private bytes = 0
  private need = FRAME_HEADER_BYTES
  private readonly frameBytesMax: number

  constructor (frameBytesMax = FRAME_BYTES_MAX) {
    this.frameBytesMax = frameBytesMax
  }

  get bufferedBytes (): number { return this.bytes }

  push (chunk: Buffer): Frame[] {
    if (chunk.length === 0) return []
    this.parts.push(chunk)
    this.bytes += chunk.length
    if (this.bytes < this.need) return []
    const buf = this.parts.length === 1 ? chunk : Buffer.concat(this.parts, this.bytes)
    const frames: Frame[] = []
    let off = 0
    for (;;) {
      if (buf.length - off < FRAME_HEADER_BYTES) { this.need = FRAME_HEADER_BYTES; break }
      const type = buf[off] as number
      if (type > FRAME_SYSTEMERR || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) {
        throw new MalformedLogStreamError(`bad frame header at byte ${off}: ${buf.subarray(off, off + FRAME_HEADER_BYTES).toString('hex')}`)
      }
      const len = buf.readUInt32BE(off + 4)
      if (len > this.frameBytesMax) throw new MalformedLogStreamError(`frame of ${len} bytes exceeds ${this.frameBytesMax}`)
      if (buf.length - off - FRAME_HEADER_BYTES < len) { this.need = FRAME_HEADER_BYTES + len; break }
      frames.push({ type, payload: buf.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + len) })
      off += FRAME_HEADER_BYTES + len
    }
    // Copy the rest so that a small remainder does not pin a large chunk.
    const rest = off === buf.length ? EMPTY : Buffer.from(buf.subarray(off))
    this.parts = rest.length > 0 ? [rest] : []
    this.bytes = rest.length
    return frames
  }
}

/**
 * A TTY container's stream: `"<timestamp> <bytes>\n"` lines, no frames (best
 * effort: Docker's pieces of a line longer than 16 KiB cannot be told apart here).
 */
export class RawLineSplitter {
  private rest: Buffer = EMPTY
  private readonly lineBytesMax: number

  constructor (lineBytesMax = FRAME_BYTES_MAX) {
    this.lineBytesMax = lineBytesMax
  }

  push (chunk: Buffer): Frame[] {
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk])
    const frames: Frame[] = []
    let off = 0
    for (let nl = buf.indexOf(10, off); nl >= 0; nl = buf.indexOf(10, off)) {
      const end = nl > off && buf[nl - 1] === 13 ? nl - 1 : nl // a TTY writes "\r\n"
      frames.push({ type: FRAME_STDOUT, payload: Buffer.concat([buf.subarray(off, end), NEWLINE]) })
      off = nl + 1
    }
    this.rest = off === buf.length ? EMPTY : Buffer.from(buf.subarray(off))
    if (this.rest.length > this.lineBytesMax) {
      frames.push({ type: FRAME_STDOUT, payload: this.rest })
      this.rest = EMPTY
    }
    return frames
  }
}

/** Whether a response's first byte starts a frame header (non-TTY) rather than a timestamp (TTY). */
export function isMultiplexed (firstByte: number): boolean {
  return firstByte <= FRAME_SYSTEMERR
}

// ---------------------------------------------------------------------------
// Timestamps. Docker writes them as RFC3339Nano with exactly nine fractional
// digits in UTC ("2026-11-26T12:53:29.861499717Z"); in that form string order is
// time order, so the hot path compares strings and never parses.

const CANONICAL_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/
const RFC3339_TS = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/
const NANOS_PER_S = 1_000_000_000

/** The canonical form (UTC, nine digits) of an RFC3339 timestamp, or undefined. */
export function canonicalTs (s: string): string | undefined {
  if (s.length === 30 && CANONICAL_TS.test(s)) return s
  const m = RFC3339_TS.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as string[]
  let secs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) / 1000
  if (zone !== 'Z' && zone !== undefined) {
    const sign = zone.startsWith('-') ? -1 : 1
    secs -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60)
  }
  if (!Number.isFinite(secs)) return undefined
  return formatTs(secs, Number((frac ?? '').padEnd(9, '0')))
}

/** Whole seconds and nanoseconds since the epoch of a canonical timestamp. */
export function tsParts (ts: string): { sec: number, nsec: number } {
  return { sec: Date.parse(ts.slice(0, 19) + 'Z') / 1000, nsec: Number(ts.slice(20, 29)) }
}

export function formatTs (sec: number, nsec: number): string {
  const carry = Math.floor(nsec / NANOS_PER_S)
  const s = sec + carry
  const ns = nsec - carry * NANOS_PER_S
  return new Date(s * 1000).toISOString().slice(0, 19) + '.' + String(ns).padStart(9, '0') + 'Z'
}

/** `ts` moved by `ms` milliseconds (exact to the nanosecond). */
export function tsAddMs (ts: string, ms: number): string {
  const { sec, nsec } = tsParts(ts)
  const wholeS = Math.trunc(ms / 1000)
  return formatTs(sec + wholeS, nsec + Math.round((ms - wholeS * 1000) * 1_000_000))
}

/** Docker's `since` is in seconds and includes messages at or after it: the floor keeps `ts` itself. */
export function tsFloorSeconds (ts: string): number {
  return tsParts(ts).sec
}

export function tsToMs (ts: string): number {
  const { sec, nsec } = tsParts(ts)
  return sec * 1000 + Math.floor(nsec / 1_000_000)
}

export interface LogMessage { ts: string, body: Buffer }

/**
 * Splits `"<timestamp> <bytes>"`. Undefined when the payload does not start with
 * a timestamp (an engine error written into the stream).
 */
export function parseMessage (payload: Buffer): LogMessage | undefined {
  if (payload.length >= 31 && payload[30] === 0x20) {
    const ts = payload.toString('latin1', 0, 30)
    if (CANONICAL_TS.test(ts)) return { ts, body: payload.subarray(31) }
  }
  const sp = payload.indexOf(0x20)
  if (sp <= 0 || sp > 40) return undefined
  const ts = canonicalTs(payload.toString('latin1', 0, sp))
  return ts === undefined ? undefined : { ts, body: payload.subarray(sp + 1) }
}

// ---------------------------------------------------------------------------
// Lines and the dedupe rule.

/**
 * Where a stream's log has been consumed up to: the timestamp of the last
 * message of the last line appended, and how many messages of this stream carry
 * exactly that timestamp up to it (the pieces of a long line share one; two
 * lines may in principle share one too).
 */
export interface Cursor { ts: string, n: number }

export interface AssembledLine {
  /** The process's bytes, ending in "\n" (one was added if the process left the line open at exit). */
  data: Buffer
  /** The stream's cursor once this line is appended. */
  cursor: Cursor
  /** Set when the line was longer than lineBytesMax and `data` is the truncation marker. */
  truncatedBytes?: number
}

const NEWLINE = Buffer.from('\n')

interface OpenLine { ts: string, chunks: Buffer[], kept: number, total: number }

/**
 * One stream (stdout or stderr) of one container. Feed it the messages of a
 * fetch in order; it drops those at or before the cursor, joins the pieces of
 * long lines and returns whole lines.
 *
 * Dedupe rule: a fetch that holds every message of this stream at or after the
 * cursor's timestamp drops messages stamped before `cursor.ts` and the first
 * `cursor.n` stamped exactly `cursor.ts`; every later message is new.
 */
export class LineAssembler {
  /** Cursor after the last whole line returned (what a commit may persist). */
  done: Cursor | undefined
  private acc: Cursor | undefined
  private skipTs: string | undefined
  private skipN = 0
  private seenAtSkip = 0
  private open: OpenLine | undefined
  private readonly lineBytesMax: number
  private readonly partialBytes: number

  constructor (done: Cursor | undefined, lineBytesMax = LINE_BYTES_MAX, partialBytes = DOCKER_PARTIAL_BYTES) {
    this.lineBytesMax = lineBytesMax
    this.partialBytes = partialBytes
    this.done = done
    this.begin()
  }

  /** Start of a new fetch: forget an unfinished line (its pieces come again) and dedupe against `done`. */
  begin (): void {
    this.open = undefined
    this.acc = this.done
    this.skipTs = this.done?.ts
    this.skipN = this.done?.n ?? 0
    this.seenAtSkip = 0
  }

  /** Timestamp of the unfinished line, if any (its pieces are not appended yet). */
  openTs (): string | undefined { return this.open?.ts }

  /** One message (timestamp prefix removed). Returns the lines it completes: none, one or two. */
  push (ts: string, body: Buffer): AssembledLine[] {
    if (this.skipTs !== undefined) {
      if (ts < this.skipTs) return []
      if (ts === this.skipTs) {
        this.seenAtSkip++
        if (this.seenAtSkip <= this.skipN) return []
      }
      this.skipTs = undefined // past the cursor; later messages of this stream are later still
    }
    const out: AssembledLine[] = []
    // An open line followed by a message with another timestamp was left without "\n" at exit.
    if (this.open !== undefined && this.open.ts !== ts) out.push(this.close(NEWLINE))
    this.acc = this.acc !== undefined && this.acc.ts === ts ? { ts, n: this.acc.n + 1 } : { ts, n: 1 }
    const ends = body.length > 0 && body[body.length - 1] === 10
    if (ends) {
      out.push(this.close(body))
    } else if (body.length >= this.partialBytes) {
      this.keep(ts, body) // a piece of a long line: more come with the same timestamp
    } else if (body.length > 0 || this.open !== undefined) {
      this.keep(ts, body)
      out.push(this.close(NEWLINE)) // the rest of a line the process left open at exit
    } else {
      this.done = { ...this.acc } // an empty message: consumed, nothing to write
    }
    return out
  }

  /**
   * The fetch ended. `final`: the container's output is closed for good (it is
   * not running), so an unfinished line is complete as it is. Otherwise the
   * unfinished line is dropped and comes again with the next fetch.
   */
  end (final: boolean): AssembledLine[] {
    const out: AssembledLine[] = []
    if (this.open !== undefined && final) out.push(this.close(NEWLINE))
    this.begin()
    return out
  }

  private keep (ts: string, body: Buffer): void {
    const open = this.open ?? (this.open = { ts, chunks: [], kept: 0, total: 0 })
    const room = this.lineBytesMax - open.kept
    if (room > 0 && body.length > 0) {
      const piece = body.length <= room ? body : body.subarray(0, room)
      open.chunks.push(Buffer.from(piece)) // a copy: do not pin the network chunk
      open.kept += piece.length
    }
    open.total += body.length
  }

  /** Closes the open line (if any) with `last` appended, or returns `last` alone as a line. */
  private close (last: Buffer): AssembledLine {
    const open = this.open
    this.open = undefined
    const cursor = { ...(this.acc as Cursor) }
    this.done = cursor
    if (open === undefined) return this.bounded(cursor.ts, [last], last.length, cursor)
    const chunks = [...open.chunks]
    const room = this.lineBytesMax - open.kept
    const total = open.total + last.length
    if (room > 0) chunks.push(last.length <= room ? last : last.subarray(0, room))
    return this.bounded(open.ts, chunks, total, cursor)
  }

  private bounded (ts: string, chunks: Buffer[], total: number, cursor: Cursor): AssembledLine {
    if (total <= this.lineBytesMax) {
      return { data: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks), cursor }
    }
    return { data: truncationMarker(ts, Buffer.concat(chunks), total), cursor, truncatedBytes: total }
  }
}

/**
 * What replaces a line over the limit: one JSON object (so that the file stays
 * one JSON object per line) with the line's time, its size and its head.
 */
export function truncationMarker (ts: string, head: Buffer, totalBytes: number): Buffer {
  const marker = {
    time: tsToMs(ts),
    level: 40,
    msg: 'line truncated by the docker log collector',
    truncatedBytes: totalBytes,
    head: head.toString('utf8')
  }
  return Buffer.from(JSON.stringify(marker) + '\n')
}

/**
 * Whether a tail window holds every message not yet appended, judged from its
 * oldest message. `safe`: every message not yet appended was stamped at or
 * after `safe - skew` (skew: how much later a message may reach the log than one
 * stamped before it, the other stream's included). A message before the window
 * is stamped at most `skew` after the window's oldest, hence before `safe - skew`.
 */
export function windowCovers (oldestTs: string, safe: string, skewMs: number): boolean {
  return oldestTs < tsAddMs(safe, -2 * skewMs)
}
