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

  sent (bytes: number): void { this.msgsSent++; this.bytesSent += bytes }
  recv (bytes: number): void { this.msgsRecv++; this.bytesRecv += bytes }
  contact (peerId: string): void {
    if (this.contacted.size < PEERS_CONTACTED_MAX) this.contacted.add(peerId)
  }

  get peersContacted (): number { return this.contacted.size }

  snapshot (): { msgsSent: number, msgsRecv: number, bytesSent: number, bytesRecv: number, peersContacted: number, dialsOk: number, dialsFailed: number, cpuUserUs: number, cpuSystemUs: number, rssBytes: number } {
    const cpu = process.cpuUsage()
    return {
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
