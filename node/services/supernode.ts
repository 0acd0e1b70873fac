/**
 * The supernode role: client slots, ticket checks, heartbeats, and the exchange
 * of supernode lists with a few other supernodes.
 *
 * Slots: an attach takes a *pending* slot; a register with a valid ticket makes
 * it *active*. A pending slot that is not registered within
 * `pendingSlotDeadlineMs` is reclaimed (0 = never: the slot-leak fault model);
 * an active slot whose client sends no heartbeat for `clientTimeoutMs` is freed.
 * Every request spends a token of the supernode's request budget; without one
 * it answers busy.
 */
import type { Libp2p } from 'libp2p'
import type { Connection, PublicKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL_HEARTBEAT, PROTOCOL_SN, PROTOCOL_SNX, SnRequest, SnxMessage, type SnInfo, type SnResponse } from '../protocol/messages.ts'
import { serve, serveStream, request } from '../rpc.ts'
import { verifyTicket } from '../tickets.ts'
import { InvalidMessageError, InvalidTicketError } from '../contract/errors.ts'
import { createBucket, take, waitMs, type TokenBucket } from '../token-bucket.ts'
import type { HostCache } from '../host-cache.ts'
import type { Clock } from '../clock.ts'
import type { EventLog } from '../log.ts'
import type { Stats } from '../stats.ts'
import type { Rng } from '../contract/rng.ts'
import type { PeerConfig } from '../contract/config.ts'
import type { ClientLeftReason } from '../contract/events.ts'
import { isAbort } from '../abort.ts'

interface Slot { name: string, state: 'pending' | 'active', since: number, lastSeen: number }

export type SupernodeSettings = Pick<PeerConfig, 'slotsMax' | 'snRequestRatePerS' | 'snRequestBurst' | 'pendingSlotDeadlineMs' |
'clientTimeoutMs' | 'snLinksMax' | 'snExchangeIntervalMs' | 'snEntryTtlMs' | 'snAlternativesMax' | 'snBusyRetryAfterMs' | 'snOverloadThreshold'>

export interface SupernodeComponents {
  node: Libp2p
  name: string
  addr: string
  issuer: PublicKey
  cache: HostCache
  clock: Clock
  log: EventLog
  stats: Stats
  rng: Rng
  settings: SupernodeSettings
  /** Self-protection tripped (2010 model): the owner takes this supernode offline. */
  onOverload?: (load: number) => void
}

/** Window over which the request rate is measured for self-protection (emulated ms). */
export const OVERLOAD_WINDOW_MS = 5000

export class Supernode {
  private readonly c: SupernodeComponents
  private readonly s: SupernodeSettings
  private readonly slots = new Map<string, Slot>()
  private bucket: TokenBucket
  private active = false
  private idleSinceMs: number | null = null
  private windowStart = 0
  private windowRequests = 0
  private timers: NodeJS.Timeout[] = []
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.connectionClosed(evt.detail) }

  constructor (c: SupernodeComponents) {
    this.c = c
    this.s = c.settings
    this.bucket = createBucket(this.s.snRequestRatePerS, this.s.snRequestBurst, c.clock.now())
  }

  /** Handlers stay registered for the process's life: a demoted peer answers `not-supernode`. */
  async register (): Promise<void> {
    const { node, stats, log } = this.c
    await node.handle(PROTOCOL_SN, serve(PROTOCOL_SN, SnRequest, stats, log, async (req, conn) => this.onRequest(req, conn)), { maxInboundStreams: 8 })
    await node.handle(PROTOCOL_SNX, serve(PROTOCOL_SNX, SnxMessage, stats, log, async (req) => this.onExchange(req)), { maxInboundStreams: 4 })
    // Heartbeats: one stream per client session; quiet for longer than the client timeout ends it.
    await node.handle(PROTOCOL_HEARTBEAT, serveStream(PROTOCOL_HEARTBEAT, SnRequest, stats, log, () => this.c.clock.real(this.s.clientTimeoutMs), async (req, conn) => {
      if (req.t !== 'heartbeat') throw new InvalidMessageError(`${req.t} on the heartbeat stream`)
      return this.onRequest(req, conn)
    }), { maxInboundStreams: 2 })
    node.addEventListener('connection:close', this.onClose)
  }

  get isActive (): boolean { return this.active }
  get clients (): number { return this.activeCount() }
  get idleSince (): number | null { return this.idleSinceMs }
  get load (): number { return Math.min(1, this.slots.size / this.s.slotsMax) }

  info (): SnInfo { return { name: this.c.name, addr: this.c.addr, load: this.load, ageMs: 0 } }

  /** Start serving (boot as bootstrap supernode, or promotion). */
  activate (): void {
    if (this.active) return
    this.active = true
    this.idleSinceMs = this.c.clock.now()
    this.bucket = createBucket(this.s.snRequestRatePerS, this.s.snRequestBurst, this.c.clock.now())
    const sweepEvery = Math.max(1, Math.min(this.s.clientTimeoutMs, this.s.pendingSlotDeadlineMs || this.s.clientTimeoutMs) / 4)
    this.timers.push(setInterval(() => { this.sweep() }, this.c.clock.real(sweepEvery)))
    this.timers.push(setInterval(() => { void this.exchange() }, this.c.clock.real(this.s.snExchangeIntervalMs)))
    void this.exchange()
  }

  /** Stop serving: every client is let go (they notice and attach elsewhere). */
  async deactivate (reason: ClientLeftReason): Promise<void> {
    if (!this.active) return
    this.active = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    const names = [...this.slots.keys()]
    for (const peerId of names) this.release(peerId, reason)
    // Close client connections so that they notice at once rather than by missed heartbeats.
    await Promise.all(this.c.node.getConnections().filter(conn => names.includes(conn.remotePeer.toString()))
      .map(async conn => { await conn.close().catch(err => { conn.abort(err as Error) }) }))
  }

  async stop (): Promise<void> {
    await this.deactivate('closed')
    this.c.node.removeEventListener('connection:close', this.onClose)
  }

  private alternatives (): SnInfo[] {
    const now = this.c.clock.now()
    const fresh = this.c.cache.all().filter(e => e.name !== this.c.name && now - e.seenAt <= this.s.snEntryTtlMs)
    const picked = this.c.rng.shuffle(fresh).sort((a, b) => (a.load ?? 0.5) - (b.load ?? 0.5)).slice(0, this.s.snAlternativesMax)
    return picked.map(e => ({ name: e.name, addr: e.addr, load: e.load ?? 0.5, ageMs: Math.round(now - e.seenAt) }))
  }

  private onRequest (req: SnRequest, conn: Connection): SnResponse | Promise<SnResponse> {
    const peerId = conn.remotePeer.toString()
    const now = this.c.clock.now()
    if (!this.active) return { t: 'not-supernode', alternatives: this.alternatives() }
    this.measureLoad(now)
    const slot = this.slots.get(peerId)
    if (!take(this.bucket, now)) {
      this.c.log.event('sn.rejected', { client: slot?.name ?? (req.t === 'attach' ? req.name : peerId), reason: 'budget', pending: this.pending(), clients: this.activeCount() })
      return { t: 'busy', reason: 'budget', retryAfterMs: Math.round(waitMs(this.bucket, now)), alternatives: this.alternatives() }
    }
    switch (req.t) {
      case 'attach': {
        if (slot !== undefined) return { t: 'attached', deadlineMs: this.s.pendingSlotDeadlineMs }
        if (this.slots.size >= this.s.slotsMax) {
          this.c.log.event('sn.rejected', { client: req.name, reason: 'full', pending: this.pending(), clients: this.activeCount() })
          return { t: 'busy', reason: 'full', retryAfterMs: this.s.snBusyRetryAfterMs, alternatives: this.alternatives() }
        }
        this.slots.set(peerId, { name: req.name, state: 'pending', since: now, lastSeen: now })
        this.idleSinceMs = null
        return { t: 'attached', deadlineMs: this.s.pendingSlotDeadlineMs }
      }
      case 'register':
        return slot === undefined ? { t: 'rejected', reason: 'no-slot' } : this.registerTicket(slot, peerId, req.ticket, now)
      case 'heartbeat':
        if (slot?.state !== 'active') return { t: 'unknown' }
        slot.lastSeen = now
        return { t: 'alive', load: this.load, supernodes: [this.info(), ...this.alternatives()].slice(0, this.s.snAlternativesMax + 1), ...(req.seq !== undefined ? { seq: req.seq } : {}) }
      case 'detach':
        if (slot !== undefined) this.release(peerId, 'detached')
        return { t: 'bye' }
    }
  }

  private registerTicket (slot: Slot, peerId: string, ticket: Parameters<typeof verifyTicket>[1], now: number): SnResponse | Promise<SnResponse> {
    if (slot.state === 'active') return { t: 'registered' }
    return verifyTicket(this.c.issuer, ticket, peerId, Date.now()).then(() => {
      // The slot may have been reclaimed while the signature was checked.
      if (this.slots.get(peerId) !== slot) return { t: 'rejected', reason: 'no-slot' } satisfies SnResponse
      slot.state = 'active'
      slot.lastSeen = now
      this.c.log.event('client.joined', { client: slot.name, clients: this.activeCount(), slotsMax: this.s.slotsMax })
      return { t: 'registered' } satisfies SnResponse
    }, (err: unknown) => {
      if (!(err instanceof InvalidTicketError)) throw err
      this.c.log.event('ticket.rejected', { client: slot.name, error: err.message })
      return { t: 'rejected', reason: 'invalid-ticket' } satisfies SnResponse
    })
  }

  /** Registered clients (pending slots are capacity taken, not clients). */
  private activeCount (): number {
    let n = 0
    for (const s of this.slots.values()) if (s.state === 'active') n++
    return n
  }

  /**
   * Self-protection (off when snOverloadThreshold is 0): when requests arrive
   * faster than `threshold` times the request budget over a window, the
   * supernode takes itself offline, as Skype's did in December 2010.
   */
  private measureLoad (now: number): void {
    if (this.s.snOverloadThreshold <= 0) return
    if (now - this.windowStart >= OVERLOAD_WINDOW_MS) {
      this.windowStart = now
      this.windowRequests = 0
    }
    this.windowRequests++
    const elapsedS = Math.max(1, now - this.windowStart) / 1000
    // Judge only over a meaningful part of the window, so one burst at its start does not trip it.
    if (now - this.windowStart < OVERLOAD_WINDOW_MS / 2) return
    const load = this.windowRequests / elapsedS / this.s.snRequestRatePerS
    if (load > this.s.snOverloadThreshold) {
      this.c.log.event('sn.overload', { load: Math.round(load * 100) / 100, threshold: this.s.snOverloadThreshold, clients: this.activeCount() })
      this.windowRequests = 0
      this.windowStart = now
      this.c.onOverload?.(load)
    }
  }

  private pending (): number {
    let n = 0
    for (const s of this.slots.values()) if (s.state === 'pending') n++
    return n
  }

  private release (peerId: string, reason: ClientLeftReason): void {
    const slot = this.slots.get(peerId)
    if (slot === undefined) return
    this.slots.delete(peerId)
    if (slot.state === 'active' || reason === 'pending-expired') {
      this.c.log.event('client.left', { client: slot.name, reason, clients: this.activeCount() })
    }
    if (this.slots.size === 0) this.idleSinceMs = this.c.clock.now()
  }

  private connectionClosed (conn: Connection): void {
    const peerId = conn.remotePeer.toString()
    const slot = this.slots.get(peerId)
    // Only active slots are freed when the connection goes: a pending slot is held
    // until its deadline (that is what makes a slot leak possible at all).
    if (slot?.state !== 'active') return
    if (this.c.node.getConnections(conn.remotePeer).length > 0) return
    this.release(peerId, 'closed')
  }

  private sweep (): void {
    const now = this.c.clock.now()
    for (const [peerId, slot] of this.slots) {
      if (slot.state === 'pending' && this.s.pendingSlotDeadlineMs > 0 && now - slot.since > this.s.pendingSlotDeadlineMs) this.release(peerId, 'pending-expired')
      else if (slot.state === 'active' && now - slot.lastSeen > this.s.clientTimeoutMs) this.release(peerId, 'timeout')
    }
  }

  private onExchange (msg: SnxMessage): SnxMessage {
    if (!this.active) return { t: 'not-supernode' }
    if (msg.t === 'exchange') this.learn([msg.self, ...msg.known])
    return { t: 'exchange', self: this.info(), known: this.alternatives() }
  }

  private learn (list: SnInfo[]): void {
    const now = this.c.clock.now()
    for (const sn of list) if (sn.name !== this.c.name) this.c.cache.learn(sn.name, sn.addr, sn.load, now - sn.ageMs)
  }

  /** Exchange supernode lists with up to `snLinksMax` known supernodes. */
  private async exchange (): Promise<void> {
    if (!this.active) return
    const { cache, clock, node, stats, rng } = this.c
    const peers = cache.candidates(this.s.snLinksMax, xs => rng.shuffle(xs), new Set([this.c.name]))
    await Promise.all(peers.map(async (e) => {
      const signal = clock.timeout(this.s.snExchangeIntervalMs)
      try {
        const conn = await node.dial(multiaddr(e.addr), { signal })
        const res = await request(conn, PROTOCOL_SNX, { t: 'exchange', self: this.info(), known: this.alternatives() }, SnxMessage, stats, signal)
        if (res.t === 'exchange') {
          this.learn([res.self, ...res.known])
          cache.ok(e.name, clock.now())
        } else {
          cache.forget(e.name)
        }
      } catch (err) {
        cache.fail(e.name)
        if (!isAbort(err)) this.c.log.debug({ sn: e.name, err: (err as Error).name }, 'exchange failed')
      }
    }))
  }
}
