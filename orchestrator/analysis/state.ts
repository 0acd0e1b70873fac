/**
 * The network's state, folded from the event stream: a pure reducer that
 * `up`, `status` and the later analysis share. A peer's state is that of its
 * latest incarnation; a SIGKILLed peer leaves no line, so `alive` (from the
 * runtime) can override what the log last said.
 */
import type { PeerEvent, Role } from '../../node/contract/events.ts'

export type PeerPhase = 'booting' | 'attaching' | 'online' | 'offline'

export interface PeerState {
  peer: string
  inc: number
  role: Role
  phase: PeerPhase
  sn: string | null
  clients: number
  lastTime: number
}

export class NetworkState {
  readonly peers = new Map<string, PeerState>()
  loginUp = false

  apply (e: PeerEvent): void {
    if (e.peer === 'orchestrator') return
    if (e.role === 'login') {
      if (e.ev === 'boot') this.loginUp = true
      if (e.ev === 'shutdown') this.loginUp = false
      return
    }
    let s = this.peers.get(e.peer)
    if (s === undefined || e.inc > s.inc) {
      s = { peer: e.peer, inc: e.inc, role: e.role, phase: 'booting', sn: null, clients: 0, lastTime: e.time }
      this.peers.set(e.peer, s)
    } else if (e.inc < s.inc) {
      return // a line from an older incarnation, read late
    }
    s.role = e.role
    s.lastTime = e.time
    switch (e.ev) {
      case 'boot': s.phase = 'attaching'; break
      case 'online': s.phase = 'online'; s.sn = e.sn; break
      case 'offline': s.phase = 'attaching'; s.sn = null; break
      case 'shutdown': s.phase = 'offline'; s.sn = null; break
      case 'promoted': s.role = 'supernode'; s.sn = null; break
      case 'demoted': s.role = 'client'; s.clients = 0; break
      case 'client.joined': s.clients = e.clients; break
      case 'client.left': s.clients = e.clients; break
      case 'stats': if (e.clients !== undefined) s.clients = e.clients; break
      default: break
    }
  }

  /** Mark peers that the runtime says are not running as offline (a SIGKILL logs nothing). */
  markDead (alive: ReadonlySet<string>): void {
    for (const s of this.peers.values()) {
      if (!alive.has(s.peer)) { s.phase = 'offline'; s.sn = null }
    }
  }

  /** `expectedPeers` from the plan; peers added later (injected supernodes) count too. */
  summary (expectedPeers: number): NetworkSummary {
    const total = Math.max(expectedPeers, this.peers.size)
    let online = 0; let attaching = 0; let booting = 0; let supernodes = 0
    const load: number[] = []
    for (const s of this.peers.values()) {
      if (s.phase === 'online') online++
      else if (s.phase === 'attaching') attaching++
      else if (s.phase === 'booting') booting++
      if (s.role === 'supernode' && s.phase !== 'offline') {
        supernodes++
        load.push(s.clients)
      }
    }
    load.sort((a, b) => a - b)
    const unseen = total - this.peers.size
    return {
      peers: total,
      online,
      attaching,
      booting: booting + unseen,
      offline: total - online - attaching - booting - unseen,
      supernodes,
      clientsPerSupernode: { median: median(load), max: load.length === 0 ? 0 : load[load.length - 1] as number },
      loginServer: this.loginUp
    }
  }
}

export interface NetworkSummary {
  peers: number
  online: number
  attaching: number
  booting: number
  offline: number
  supernodes: number
  clientsPerSupernode: { median: number, max: number }
  loginServer: boolean
}

export function median (sorted: number[]): number {
  if (sorted.length === 0) return 0
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
