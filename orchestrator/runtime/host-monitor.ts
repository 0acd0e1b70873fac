/**
 * Host monitor: samples this machine's CPU and load while a run is watched, so
 * that the analysis can tell a network that saturated from a host that did.
 */
import { readFile } from 'node:fs/promises'
import { loadavg, cpus } from 'node:os'
import type { Journal } from '../run/journal.ts'

export interface CpuTimes { busy: number, total: number }

/** Parse the aggregate `cpu` line of /proc/stat. */
export function parseProcStat (text: string): CpuTimes {
  const line = text.split('\n').find(l => l.startsWith('cpu '))
  if (line === undefined) throw new Error('no cpu line in /proc/stat')
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (f[3] ?? 0) + (f[4] ?? 0)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

export function busyShare (a: CpuTimes, b: CpuTimes): number {
  const dt = b.total - a.total
  return dt <= 0 ? 0 : Math.min(1, Math.max(0, (b.busy - a.busy) / dt))
}

async function memAvailable (): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8')
  const m = /MemAvailable:\s+(\d+) kB/.exec(text)
  return m === null ? 0 : Number(m[1]) * 1024
}

export class HostMonitor {
  private timer: NodeJS.Timeout | null = null
  private last: CpuTimes | null = null
  private readonly journal: Journal
  private readonly intervalMs: number
  lastBusy = 0

  constructor (journal: Journal, intervalMs = 1000) {
    this.journal = journal
    this.intervalMs = intervalMs
  }

  start (): void {
    if (this.timer !== null) return
    this.timer = setInterval(() => { void this.sample() }, this.intervalMs)
    this.timer.unref()
    void this.sample()
  }

  private async sample (): Promise<void> {
    const now = parseProcStat(await readFile('/proc/stat', 'utf8'))
    if (this.last !== null) {
      this.lastBusy = busyShare(this.last, now)
      this.journal.event('host.sample', { cpuBusy: Math.round(this.lastBusy * 1000) / 1000, load1: loadavg()[0] ?? 0, memAvailableBytes: await memAvailable(), cores: cpus().length })
    }
    this.last = now
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }
}
