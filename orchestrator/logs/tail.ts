/**
 * Incremental reading of a run's log files: each call returns the events
 * appended since the last one. A partial last line waits for its newline.
 * Bounded: at most `chunkBytesMax` per file per call, so a huge log is read in
 * steps instead of all at once.
 */
import { open, readdir } from 'node:fs/promises'
import { join, basename } from 'node:path'
import { parseEventLine, type PeerEvent } from '../../node/contract/events.ts'

export const CHUNK_BYTES_MAX = 8 * 1024 * 1024

interface FileState { offset: number, rest: string }

/** Any pino line as an object (for `patchday logs`, which shows non-contract lines too). */
export interface LogLine { time: number, [key: string]: unknown }

export function parseAnyLine (line: string): LogLine | undefined {
  if (line.length === 0 || line.charCodeAt(0) !== 123) return undefined
  try {
    const v: unknown = JSON.parse(line)
    if (typeof v === 'object' && v !== null && typeof (v as { time?: unknown }).time === 'number') return v as LogLine
    return undefined
  } catch (err) {
    if (err instanceof SyntaxError) return undefined
    throw err
  }
}

export class LogTailer<T = PeerEvent> {
  private readonly dir: string
  private readonly files = new Map<string, FileState>()
  private readonly chunkBytesMax: number
  private readonly parse: (line: string) => T | undefined

  constructor (logsDir: string, parse?: (line: string) => T | undefined, chunkBytesMax = CHUNK_BYTES_MAX) {
    this.dir = logsDir
    this.parse = parse ?? (parseEventLine as unknown as (line: string) => T | undefined)
    this.chunkBytesMax = chunkBytesMax
  }

  /** New lines from every `*.log` file, each file's in its own order (not merged). */
  async poll (): Promise<T[]> {
    let names: string[]
    try {
      names = (await readdir(this.dir)).filter(n => n.endsWith('.log')).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const out: T[] = []
    for (const name of names) out.push(...await this.pollFile(join(this.dir, name)))
    return out
  }

  private async pollFile (path: string): Promise<T[]> {
    const st = this.files.get(path) ?? { offset: 0, rest: '' }
    this.files.set(path, st)
    const fh = await open(path, 'r')
    const out: T[] = []
    try {
      const size = (await fh.stat()).size
      if (size < st.offset) { st.offset = 0; st.rest = '' } // truncated: start over
      while (st.offset < size) {
        const len = Math.min(this.chunkBytesMax, size - st.offset)
        const buf = Buffer.alloc(len)
        const { bytesRead } = await fh.read(buf, 0, len, st.offset)
        if (bytesRead === 0) break
        st.offset += bytesRead
        const text = st.rest + buf.toString('utf8', 0, bytesRead)
        const lines = text.split('\n')
        st.rest = lines.pop() ?? ''
        for (const line of lines) {
          const ev = this.parse(line)
          if (ev !== undefined) out.push(ev)
        }
      }
    } finally {
      await fh.close()
    }
    return out
  }

  static sourceName (path: string): string { return basename(path, '.log') }
}

/** All events of a run's logs, merged into one timeline by time (stable within a file). */
export async function readTimeline (logsDir: string): Promise<PeerEvent[]> {
  const events = await new LogTailer(logsDir).poll()
  return mergeByTime(events)
}

export function mergeByTime<T extends { time: number }> (events: T[]): T[] {
  return events.map((e, i) => ({ e, i })).sort((a, b) => (a.e.time - b.e.time) || (a.i - b.i)).map(x => x.e)
}
