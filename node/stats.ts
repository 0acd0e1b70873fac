/** Signalling counters, cumulative since boot, logged as `stats` events. */
export const PEERS_CONTACTED_MAX = 1_000_000

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

  sent (bytes: number): void { this.msgsSent++; this.bytesSent += bytes }
  recv (bytes: number): void { this.msgsRecv++; this.bytesRecv += bytes }
  contact (peerId: string): void {
    if (this.contacted.size < PEERS_CONTACTED_MAX) this.contacted.add(peerId)
    if (this.contactedInterval.size < PEERS_CONTACTED_MAX) this.contactedInterval.add(peerId)
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
