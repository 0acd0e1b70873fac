/** Signalling counters, cumulative since boot, logged as `stats` events. */

/**
 * Distinct peer ids remembered by default (the `peersContactedMax` setting): the
 * sets cost about 100 bytes per id, and every identity an attacker makes would
 * otherwise stay for the life of the process. Past it the counts saturate.
 */
export const PEERS_CONTACTED_MAX = 10_000

export class Stats {
  msgsSent = 0
  msgsRecv = 0
  bytesSent = 0
  bytesRecv = 0
  dialsOk = 0
  dialsFailed = 0
  private readonly contacted = new Set<string>()
  /** Distinct peers since the previous snapshot: the "peers contacted per client" figure per interval. */
  private contactedInterval = new Set<string>()
  private readonly contactedMax: number

  constructor (contactedMax = PEERS_CONTACTED_MAX) { this.contactedMax = contactedMax }

  sent (bytes: number): void { this.msgsSent++; this.bytesSent += bytes }
  recv (bytes: number): void { this.msgsRecv++; this.bytesRecv += bytes }
  contact (peerId: string): void {
    if (this.contacted.size < this.contactedMax) this.contacted.add(peerId)
    if (this.contactedInterval.size < this.contactedMax) this.contactedInterval.add(peerId)
  }

  get peersContacted (): number { return this.contacted.size }

  /** Counters for a `stats` event; starts a new interval for `peersContactedInterval`. */
  snapshot (): { msgsSent: number, msgsRecv: number, bytesSent: number, bytesRecv: number, peersContacted: number, peersContactedInterval: number, dialsOk: number, dialsFailed: number, cpuUserUs: number, cpuSystemUs: number, rssBytes: number } {
    const cpu = process.cpuUsage()
    const interval = this.contactedInterval.size
    this.contactedInterval = new Set()
    return {
      peersContactedInterval: interval,
      msgsSent: this.msgsSent,
      msgsRecv: this.msgsRecv,
      bytesSent: this.bytesSent,
      bytesRecv: this.bytesRecv,
      peersContacted: this.peersContacted,
      dialsOk: this.dialsOk,
      dialsFailed: this.dialsFailed,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes: process.memoryUsage.rss()
    }
  }
}
