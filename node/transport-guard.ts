/**
 * The transport guard: applies node/transport-limits.ts to a libp2p node, so
 * that one hostile or broken peer cannot take the process down.
 *
 * - As libp2p's connection gater it refuses, before any cryptography, inbound
 *   sockets beyond the caps on handshakes in progress (in total and per source
 *   IP) and on connections (in total and per source IP), and after the Noise
 *   handshake a peer id that already holds `connsPerPeerMax` connections.
 *   libp2p's own caps are set above ours (node/libp2p.ts) so that ours bind and
 *   are counted: libp2p refuses silently.
 * - On `connection:open` it closes a peer's surplus inbound connections (two
 *   handshakes of one peer id can pass the gater at once).
 * - A sweep closes idle connections and resets answered streams the remote
 *   never closed.
 * - It bans a peer that keeps misbehaving (node/misbehaviour.ts): the servers
 *   report each malformed frame or late byte (`reportOffence`); past the
 *   budget the peer's connections are closed, and its source IP (before any
 *   cryptography) and peer id (after Noise) are refused for a while.
 * - It admits handshakes from sources not vouched for at a bounded rate
 *   (node/newcomers.ts): the servers vouch for a source that presents a valid
 *   ticket or logs in (`vouchFor`), and every address this node dials is
 *   vouched for. A newcomer needs a token of the rate and one of
 *   `newcomerInFlightMax` places; without both it waits its turn (the gater
 *   answers when it comes), and is refused before any cryptography when the
 *   queue is full or its wait runs out. Vouched sources pass at once.
 * - On `peer:disconnect` it deletes the peer from libp2p's peer store: patchday
 *   dials by address and never reads it back, and libp2p would otherwise keep an
 *   entry per remote identity for hours (its `maxPeerAge`), unbounded.
 *
 * What it refuses or closes is counted per reason and reported every
 * `logIntervalMs` (one `conn.limited` event per reason with a count and a sample).
 */
import type { Libp2p } from 'libp2p'
import type { Connection, ConnectionGater, MultiaddrConnection, PeerId, Stream } from '@libp2p/interface'
import { lastActiveMs, markActive } from './conn-activity.ts'
import { Bans } from './misbehaviour.ts'
import { Newcomers } from './newcomers.ts'
import { BAN_TRACKED_MAX, VOUCHED_MAX, VOUCH_MS, LimitCounts, KeyCounts, idle, lingered, refuseInbound, refusePeer, remoteIp, surplus, sweepEveryMs, type ConnView, type LimitRecord, type LimitReason, type TransportLimits } from './transport-limits.ts'

/** A stream reset because the remote kept it half-open after our answer. */
export class StreamLingerError extends Error {
  override name = 'StreamLingerError'
}

/** A connection closed by the guard (idle, or surplus of its peer). */
export class ConnectionLimitError extends Error {
  override name = 'ConnectionLimitError'
}

/** A connection closed because its peer was banned for misbehaviour. */
export class PeerBannedError extends Error {
  override name = 'PeerBannedError'
}

/** The guard of the node each connection belongs to (several nodes share a process in the tests). */
const guardOf = new WeakMap<Connection, TransportGuard>()

/**
 * `conn`'s remote sent what no patchday peer sends (a malformed or oversized
 * frame, bytes after an answer): one offence towards a ban. A no-op on a node
 * without a guard.
 */
export function reportOffence (conn: Connection): void {
  guardOf.get(conn)?.offend(conn)
}

/**
 * `conn`'s remote was refused by its own request budget (a supernode's or the
 * login server's): past misbehaviour's allowance of such refusals, an offence.
 * A no-op on a node without a guard.
 */
export function reportOverBudget (conn: Connection): void {
  guardOf.get(conn)?.overBudget(conn)
}

/**
 * `conn`'s remote proved it belongs to the network (a ticket that verified, a
 * login): its source is no longer a newcomer. A no-op on a node without a guard.
 */
export function vouchFor (conn: Connection): void {
  guardOf.get(conn)?.vouch(conn)
}

/** Handshakes that end this close to the timeout count as timed out (timers fire a little late or early). */
const TIMEOUT_SLACK = 0.9

export type OnLimited = (records: LimitRecord[], intervalMs: number) => void

/** An inbound connection from its first byte until it is open (or its socket closes): security, then muxer. */
interface Pending { ip: string, sinceMs: number, peer?: string, newcomer: boolean }

/** A remote address without its /p2p/ part: how an open connection is matched to its socket. */
function socketKey (addr: { toString: () => string }): string {
  return addr.toString().split('/p2p/')[0] ?? ''
}

export class TransportGuard {
  readonly counts = new LimitCounts()
  private readonly limits: TransportLimits
  private readonly onLimited: OnLimited
  private node: Libp2p | undefined
  private readonly pending = new Map<string, Pending>()
  private readonly pendingByIp = new KeyCounts()
  /** Inbound connections past Noise but not yet open, per peer id: parallel handshakes of one identity count too. */
  private readonly pendingByPeer = new KeyCounts()
  private readonly inboundByIp = new KeyCounts()
  /** Inbound connections counted in inboundByIp, by connection id, with their IP. */
  private readonly inboundIp = new Map<string, string>()
  private conns = 0
  private readonly lingerSince = new WeakMap<Stream, number>()
  private timers: NodeJS.Timeout[] = []
  private readonly bans: Bans
  private readonly newcomers: Newcomers
  /** The gater's answers owed to newcomers waiting for a place, by socket key: false admits, true refuses. */
  private readonly waiters = new Map<string, (deny: boolean) => void>()
  private queueTimer: NodeJS.Timeout | undefined

  constructor (limits: TransportLimits, onLimited: OnLimited) {
    this.limits = limits
    this.onLimited = onLimited
    this.bans = new Bans({ max: limits.misbehaviourMax, windowMs: limits.misbehaviourWindowMs, banMs: limits.banMs, overBudgetMax: limits.overBudgetMax, trackedMax: BAN_TRACKED_MAX })
    this.newcomers = new Newcomers({ ratePerS: limits.newcomerRatePerS, burst: limits.newcomerBurst, inFlightMax: limits.newcomerInFlightMax, queueMax: limits.newcomerQueueMax, holdMs: limits.newcomerHoldMs, vouchMs: VOUCH_MS, vouchedMax: VOUCHED_MAX }, Date.now())
  }

  /** Handshakes in progress and open connections, as the guard counts them (tests compare them with libp2p's). */
  get state (): { handshakes: number, conns: number, sources: number, newcomers: number, newcomersWaiting: number } {
    return { handshakes: this.pending.size, conns: this.conns, sources: this.inboundByIp.size + this.pendingByIp.size, newcomers: this.newcomers.inFlight, newcomersWaiting: this.newcomers.queued }
  }

  gater (): ConnectionGater {
    return {
      denyInboundConnection: (maConn) => this.inbound(maConn),
      denyInboundEncryptedConnection: (peerId, maConn) => this.encrypted(peerId, maConn)
    }
  }

  private refuse (reason: LimitReason, sample: string): true {
    this.counts.add(reason, sample)
    return true
  }

  private inbound (maConn: MultiaddrConnection): boolean | Promise<boolean> {
    const ip = remoteIp(maConn.remoteAddr)
    if (this.bans.banned(`ip:${ip}`, Date.now())) return this.refuse('banned', ip)
    const key = socketKey(maConn.remoteAddr)
    const reason = refuseInbound({ handshakes: this.pending.size, handshakesFromIp: this.pendingByIp.get(ip), conns: this.conns, connsFromIp: this.inboundByIp.get(ip) }, this.limits)
    if (reason !== null) return this.refuse(reason, ip)
    const admission = this.newcomers.admit(ip, Date.now(), key)
    this.applyMoves()
    if (admission === 'refused') return this.refuse('newcomers', ip)
    this.pending.set(key, { ip, sinceMs: Date.now(), newcomer: admission !== 'vouched' })
    this.pendingByIp.inc(ip)
    maConn.addEventListener('close', () => {
      const p = this.settle(key)
      if (p !== undefined && Date.now() - p.sinceMs >= this.limits.handshakeTimeoutMs * TIMEOUT_SLACK) this.counts.add('handshake-timeout', p.ip)
    }, { once: true })
    if (admission !== 'queued') return false
    const answer = new Promise<boolean>(resolve => { this.waiters.set(key, resolve) })
    this.scheduleQueue()
    return answer
  }

  /** Answer the newcomers whose turn came (admitted) or whose wait ran out (refused). */
  private applyMoves (): void {
    const { granted, refused } = this.newcomers.moves()
    for (const key of granted) this.answer(key, false)
    for (const key of refused) {
      this.counts.add('newcomers', this.pending.get(key)?.ip ?? '')
      this.answer(key, true)
    }
  }

  private answer (key: string, deny: boolean): void {
    const resolve = this.waiters.get(key)
    this.waiters.delete(key)
    resolve?.(deny)
  }

  /** Wake up when the queue must move without a socket ending (a place held too long, a wait run out). */
  private scheduleQueue (): void {
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer)
    this.queueTimer = undefined
    const next = this.newcomers.nextDeadline(Date.now())
    if (next === null) return
    this.queueTimer = setTimeout(() => {
      this.queueTimer = undefined
      this.newcomers.tick(Date.now())
      this.applyMoves()
      this.scheduleQueue()
    }, Math.max(0, next - Date.now())).unref()
  }

  /** The handshake is over (the connection opened, or its socket closed): it no longer counts as pending. */
  private settle (key: string): Pending | undefined {
    const p = this.pending.get(key)
    if (p === undefined) return undefined
    this.pending.delete(key)
    this.pendingByIp.dec(p.ip)
    if (p.peer !== undefined) this.pendingByPeer.dec(p.peer)
    if (p.newcomer) {
      this.newcomers.settle(key, Date.now())
      // A socket that closed while it waited gets no answer (nobody asks any more).
      this.waiters.delete(key)
      this.applyMoves()
      this.scheduleQueue()
    }
    return p
  }

  private encrypted (peerId: PeerId, maConn: MultiaddrConnection): boolean {
    const id = peerId.toString()
    if (this.bans.banned(`peer:${id}`, Date.now())) return this.refuse('banned', id)
    const reason = refusePeer((this.node?.getConnections(peerId).length ?? 0) + this.pendingByPeer.get(id), this.limits)
    if (reason !== null) return this.refuse(reason, id)
    const p = this.pending.get(socketKey(maConn.remoteAddr))
    if (p !== undefined && p.peer === undefined) {
      p.peer = id
      this.pendingByPeer.inc(id)
    }
    return false
  }

  /** One offence of `conn`'s peer; past its budget the peer is banned and every connection of it closed. */
  offend (conn: Connection): void {
    this.cutIfBanned(conn, this.bans.offend(conn.remotePeer.toString(), remoteIp(conn.remoteAddr), Date.now()))
  }

  /** One refusal of `conn`'s peer by its own request budget; past the allowance, an offence (offend). */
  overBudget (conn: Connection): void {
    this.cutIfBanned(conn, this.bans.refusedOverBudget(conn.remotePeer.toString(), remoteIp(conn.remoteAddr), Date.now()))
  }

  private cutIfBanned (conn: Connection, banned: boolean): void {
    if (!banned) return
    const peer = conn.remotePeer.toString()
    this.counts.add('misbehaviour', peer)
    for (const c of this.node?.getConnections(conn.remotePeer) ?? [conn]) c.abort(new PeerBannedError(`peer ${peer} banned for ${this.limits.banMs} ms: misbehaviour`))
  }

  /** `conn`'s source IP is vouched for (see vouchFor). */
  vouch (conn: Connection): void {
    this.newcomers.vouch(remoteIp(conn.remoteAddr), Date.now())
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    guardOf.set(conn, this)
    this.conns++
    // We chose to talk to it: what we dial is no newcomer when it dials back.
    if (conn.direction === 'outbound') this.vouch(conn)
    if (conn.direction === 'inbound') {
      this.settle(socketKey(conn.remoteAddr))
      const ip = remoteIp(conn.remoteAddr)
      this.inboundIp.set(conn.id, ip)
      this.inboundByIp.inc(ip)
    }
    const node = this.node
    if (node === undefined) return
    const now = Date.now()
    const mine = node.getConnections(conn.remotePeer)
    for (const id of surplus(mine.map(c => view(c, now)), this.limits)) {
      const c = mine.find(x => x.id === id)
      if (c === undefined) continue
      this.counts.add('conns-per-peer', c.remotePeer.toString())
      c.abort(new ConnectionLimitError('surplus connection of its peer'))
    }
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    this.conns = Math.max(0, this.conns - 1)
    const ip = this.inboundIp.get(conn.id)
    if (ip !== undefined) {
      this.inboundIp.delete(conn.id)
      this.inboundByIp.dec(ip)
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const node = this.node
    if (node === undefined || evt.detail.equals(node.peerId)) return
    node.peerStore.delete(evt.detail).catch((err: unknown) => { node.logger.forComponent('patchday:guard').error('peer store delete failed - %e', err) })
  }

  /** Start guarding `node` (before it starts listening); stops by itself when the node stops. */
  attach (node: Libp2p): void {
    this.node = node
    node.addEventListener('connection:open', this.onOpen)
    node.addEventListener('connection:close', this.onClose)
    node.addEventListener('peer:disconnect', this.onDisconnect)
    node.addEventListener('stop', () => { this.detach() }, { once: true })
    const every = sweepEveryMs(this.limits)
    if (every > 0) this.timers.push(setInterval(() => { this.sweep() }, every).unref())
    this.timers.push(setInterval(() => { this.report() }, this.limits.logIntervalMs).unref())
  }

  detach (): void {
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer)
    this.queueTimer = undefined
    for (const key of [...this.waiters.keys()]) this.answer(key, true)
    const node = this.node
    if (node === undefined) return
    node.removeEventListener('connection:open', this.onOpen)
    node.removeEventListener('connection:close', this.onClose)
    node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.report()
    this.node = undefined
  }

  /** Log the interval's counts (nothing when nothing was refused). */
  report (): void {
    const records = this.counts.drain()
    if (records.length > 0) this.onLimited(records, this.limits.logIntervalMs)
  }

  /** Close idle connections, reset lingering answered streams. */
  sweep (now = Date.now()): void {
    const node = this.node
    if (node === undefined) return
    const conns = node.getConnections()
    for (const conn of conns) {
      if (conn.streams.length > 0) markActive(conn, now)
      for (const stream of conn.streams) this.checkLinger(stream, now)
    }
    const byId = new Map(conns.map(c => [c.id, c]))
    for (const id of idle(conns.map(c => view(c, now)), now, this.limits)) {
      const conn = byId.get(id)
      if (conn === undefined) continue
      this.counts.add('conn-idle', conn.remotePeer.toString())
      conn.close().catch((err: unknown) => { conn.abort(err as Error) })
    }
  }

  private checkLinger (stream: Stream, now: number): void {
    if (stream.status !== 'open' || stream.writeStatus !== 'closed' || stream.remoteWriteStatus === 'closed') return
    const since = this.lingerSince.get(stream)
    if (since === undefined) {
      this.lingerSince.set(stream, now)
    } else if (lingered(since, now, this.limits)) {
      this.counts.add('stream-linger', stream.protocol)
      stream.abort(new StreamLingerError(`remote kept ${stream.protocol} open ${now - since} ms after the answer`))
    }
  }
}

function view (c: Connection, now: number): ConnView {
  return { id: c.id, direction: c.direction, openedMs: c.timeline.open, streams: c.status === 'open' ? c.streams.length : 0, lastActiveMs: c.status === 'open' ? lastActiveMs(c) : now }
}
