/**
 * A bound on repeated log lines: per event name, at most `max` lines per
 * interval are written one by one; past that the lines are counted, and when
 * the interval ends one summary (`log.suppressed`: how many, and the first one
 * left out as a sample) stands for them. One hostile connection sending bad
 * frames as fast as it can then costs a few lines a second, not one per frame
 * (856 lines/s, about 19 GB a day, measured before this existed).
 *
 * Pure: time is passed in. Only events the analysis does not count go through
 * it (node/log.ts says which); counted events stay one line each.
 */
export interface LogLimits {
  /** Lines per event name written one by one per interval; 0 = no limit. */
  max: number
  /** Length of an interval, real ms. */
  intervalMs: number
}

export interface Suppressed {
  event: string
  count: number
  /** The interval the count covers, real ms. */
  intervalMs: number
  /** The fields of the first line left out. */
  sample: Record<string, unknown>
}

interface Window { startMs: number, written: number, dropped: number, sample: Record<string, unknown> | null }

/** Names tracked at most: the event names are a closed set, so this is only a guard. */
const NAMES_MAX = 256

export class LogLimiter {
  private readonly limits: LogLimits
  private readonly windows = new Map<string, Window>()

  constructor (limits: LogLimits) {
    if (!(limits.intervalMs > 0)) throw new RangeError(`intervalMs ${limits.intervalMs} must be > 0`)
    this.limits = limits
  }

  /**
   * May a line of `event` be written now? When not, it is counted (the first
   * one kept as the sample). A summary of an interval that has ended is
   * returned first, for the caller to write before the line.
   */
  admit (event: string, fields: Record<string, unknown>, nowMs: number): { write: boolean, summary: Suppressed | null } {
    if (this.limits.max <= 0) return { write: true, summary: null }
    let w = this.windows.get(event)
    let summary: Suppressed | null = null
    if (w !== undefined && nowMs - w.startMs >= this.limits.intervalMs) {
      summary = this.close(event, w)
      w = undefined
    }
    if (w === undefined) {
      if (this.windows.size >= NAMES_MAX) this.windows.delete(this.windows.keys().next().value as string)
      w = { startMs: nowMs, written: 0, dropped: 0, sample: null }
      this.windows.set(event, w)
    }
    if (w.written < this.limits.max) {
      w.written++
      return { write: true, summary }
    }
    w.dropped++
    w.sample ??= fields
    return { write: false, summary }
  }

  /** Summaries of every interval that has ended by `nowMs` (for a periodic flush); those windows are closed. */
  due (nowMs: number): Suppressed[] {
    const out: Suppressed[] = []
    for (const [event, w] of this.windows) {
      if (nowMs - w.startMs < this.limits.intervalMs) continue
      const s = this.close(event, w)
      if (s !== null) out.push(s)
    }
    return out
  }

  /** Lines counted but not yet summarised. */
  get pending (): number {
    let n = 0
    for (const w of this.windows.values()) n += w.dropped
    return n
  }

  private close (event: string, w: Window): Suppressed | null {
    this.windows.delete(event)
    if (w.dropped === 0 || w.sample === null) return null
    return { event, count: w.dropped, intervalMs: this.limits.intervalMs, sample: w.sample }
  }
}
