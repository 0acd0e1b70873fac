/**
 * The supernode role: client slots, ticket checks, heartbeats, and the exchange
 * of supernode lists with a few other supernodes.
 *
 * Slots: an attach takes a *pending* slot; a register with a valid ticket makes
 * it *active*. A pending slot that is not registered within
 * `pendingSlotDeadlineMs` is reclaimed (0 = never: the slot-leak fault model);
 * an active slot whose client sends no heartbeat for `clientTimeoutMs` is freed.
 * An attach that carries a valid ticket takes a proven (active) slot at once;
 * with `snAttachTicket` required, no other attach takes a slot. A slot is bound
 * to its ticket's account: one slot per account (a second identity of the same
 * account replaces the first), and a re-attaching identity keeps its one slot.
 *
 * Budgets, in order: every request spends a token of its peer's own budget
 * (`snPeerRequestRatePerS`); requests that need a slot are answered at once
 * without one, and so is an attach without a ticket where one is required
 * (`snAttachTicket`); only then does a request spend a token of the shared budget
 * (`snRequestRatePerS`), and without one it is answered busy. One peer cannot
 * spend what the supernode's clients share.
 *
 * Supernode lists are signed records (node/sn-record.ts); this supernode signs
 * its own and takes in others' through node/gossip.ts.
 */
import type { Libp2p } from 'libp2p'
import type { Connection, PrivateKey, PublicKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL_HEARTBEAT, PROTOCOL_SN, PROTOCOL_SNX, SnRequest, SnxMessage, type SnInfo, type SnResponse, type Ticket } from '../protocol/messages.ts'
import { serve, serveStream, request } from '../rpc.ts'
import { reportOverBudget, vouchFor } from '../transport-guard.ts'
import { verifyTicket } from '../tickets.ts'
import { InvalidMessageError, InvalidTicketError } from '../contract/errors.ts'
import { BucketMap, createBucket, take, waitMs, type TokenBucket } from '../token-bucket.ts'
import { signRecord, verifyRecord, InvalidRecordError } from '../sn-record.ts'
import { logRefusals, takeGossip, type GossipContext } from '../gossip.ts'
import type { HostCache } from '../host-cache.ts'
import type { Clock } from '../clock.ts'
import type { EventLog } from '../log.ts'
import type { Stats } from '../stats.ts'
import type { Rng } from '../contract/rng.ts'
import type { PeerConfig } from '../contract/config.ts'
import type { ClientLeftReason } from '../contract/events.ts'
import { isAbort } from '../abort.ts'

/** A slot; `account` once a ticket proved who holds it. */
interface Slot { name: string, state: 'pending' | 'active', since: number, lastSeen: number, account?: string }

export type SupernodeSettings = Pick<PeerConfig, 'slotsMax' | 'snRequestRatePerS' | 'snRequestBurst' | 'pendingSlotDeadlineMs' |
'clientTimeoutMs' | 'snLinksMax' | 'snExchangeIntervalMs' | 'snEntryTtlMs' | 'snAlternativesMax' | 'snBusyRetryAfterMs' | 'snOverloadThreshold' |
'snPeerRequestRatePerS' | 'snPeerRequestBurst' | 'snAttachTicket'>

/** Peers whose own request budgets are tracked at most (least recently seen forgotten first; about 100 bytes each). */
export const PEER_BUDGETS_MAX = 10_000

export interface SupernodeComponents {
  node: Libp2p
  /** This peer's identity key: it signs the supernode's own record. */
  key: PrivateKey
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
  /** Account -> the peer id whose slot it holds. */
  private readonly accounts = new Map<string, string>()
  private readonly peerBudgets: BucketMap
  private readonly gossip: GossipContext
  private selfRecord: SnInfo | null = null
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
    this.peerBudgets = new BucketMap(this.s.snPeerRequestRatePerS, this.s.snPeerRequestBurst, PEER_BUDGETS_MAX)
    this.gossip = { cache: c.cache, log: c.log, self: c.name, lifeMaxMs: this.s.snEntryTtlMs, skewMs: this.s.snEntryTtlMs }
  }

  /** Handlers stay registered for the process's life: a demoted peer answers `not-supernode`. */
  async register (): Promise<void> {
    const { node, stats, log } = this.c
    await node.handle(PROTOCOL_SN, serve(PROTOCOL_SN, SnRequest, stats, log, async (req, conn) => await this.vouching(conn, this.onRequest(req, conn))), { maxInboundStreams: 8 })
    await node.handle(PROTOCOL_SNX, serve(PROTOCOL_SNX, SnxMessage, stats, log, async (req, conn) => this.onExchange(req, conn)), { maxInboundStreams: 4 })
    // Heartbeats: one stream per client session; quiet for longer than the client timeout ends it.
    await node.handle(PROTOCOL_HEARTBEAT, serveStream(PROTOCOL_HEARTBEAT, SnRequest, stats, log, () => this.c.clock.real(this.s.clientTimeoutMs), async (req, conn) => {
      if (req.t !== 'heartbeat') throw new InvalidMessageError(`${req.t} on the heartbeat stream`)
      return await this.vouching(conn, this.onRequest(req, conn))
    }), { maxInboundStreams: 2 })
    node.addEventListener('connection:close', this.onClose)
  }

  get isActive (): boolean { return this.active }
  get clients (): number { return this.activeCount() }
  get idleSince (): number | null { return this.idleSinceMs }
  get load (): number { return Math.min(1, this.slots.size / this.s.slotsMax) }

  /**
   * This supernode's own signed record. Signed again when its load changed or a
   * quarter of its life has gone, so that relayed copies stay fresh while most
   * answers reuse one signature (which receivers have verified already).
   */
  info (): SnInfo {
    const now = Math.round(this.c.clock.now())
    const r = this.selfRecord
    if (r !== null && r.load === this.load && r.addr === this.c.addr && now - r.issuedAt < this.s.snEntryTtlMs / 4) return r
    this.selfRecord = signRecord(this.c.key, { name: this.c.name, addr: this.c.addr, load: this.load, issuedAt: now, exp: now + this.s.snEntryTtlMs })
    return this.selfRecord
  }

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

  /** Other supernodes to offer: fresh entries with a valid signed record, least loaded first; relayed as signed. */
  private alternatives (): SnInfo[] {
    const now = this.c.clock.now()
    const fresh = this.c.cache.relayable(now).filter(e => e.name !== this.c.name && now - e.seenAt <= this.s.snEntryTtlMs)
    const picked = this.c.rng.shuffle(fresh).sort((a, b) => (a.load ?? a.rec.load) - (b.load ?? b.rec.load)).slice(0, this.s.snAlternativesMax)
    return picked.map(e => ({ name: e.name, addr: e.addr, load: e.rec.load, issuedAt: e.rec.issuedAt, exp: e.rec.exp, sig: e.rec.sig }))
  }

  /** The answer to `conn`'s request; a client holding a proven slot is vouched for at the transport (no newcomer). */
  private async vouching (conn: Connection, answer: SnResponse | Promise<SnResponse>): Promise<SnResponse> {
    const res = await answer
    if (this.slots.get(conn.remotePeer.toString())?.state === 'active') vouchFor(conn)
    return res
  }

  private onRequest (req: SnRequest, conn: Connection): SnResponse | Promise<SnResponse> {
    const peerId = conn.remotePeer.toString()
    const now = this.c.clock.now()
    if (!this.active) return { t: 'not-supernode', alternatives: this.alternatives() }
    // The 2010 self-protection model counts every request that arrives, whoever sends it.
    this.measureLoad(now)
    // The peer's own budget first: one peer cannot spend what every client shares.
    if (!this.peerBudgets.take(peerId, now)) {
      const retryAfterMs = Math.round(this.peerBudgets.waitMs(peerId, now))
      this.c.log.event('sn.limited', { from: peerId, request: req.t, retryAfterMs })
      reportOverBudget(conn)
      return { t: 'busy', reason: 'peer-budget', retryAfterMs, alternatives: [] }
    }
    const slot = this.slots.get(peerId)
    // Requests that need a slot are answered without one before the shared budget is touched.
    if (req.t === 'heartbeat' && slot?.state !== 'active') return { t: 'unknown' }
    if (req.t === 'register' && slot === undefined) return { t: 'rejected', reason: 'no-slot' }
    if (req.t === 'detach' && slot === undefined) return { t: 'bye' }
    // So is an attach that cannot succeed: without a ticket where one is required (fresh
    // identities asking round after round would otherwise spend the clients' shared budget).
    if (req.t === 'attach' && slot === undefined && req.ticket === undefined && this.s.snAttachTicket === 'required') {
      this.c.log.event('sn.rejected', { client: req.name, reason: 'no-ticket', pending: this.pending(), clients: this.activeCount() })
      return { t: 'rejected', reason: 'ticket-required' }
    }
    // And an attach with a forged or expired ticket: its signature is checked before the shared
    // budget, so that identities with made-up tickets cannot spend it either (the check costs
    // CPU, bounded by the peer's own budget above, not the clients' shared one).
    if (req.t === 'attach' && slot === undefined && req.ticket !== undefined) {
      const ticket = req.ticket
      return this.checkTicket(req.name, ticket, peerId).then(refused => {
        // A ticket that verifies vouches for its holder, even when the answer is busy.
        if (refused === null) vouchFor(conn)
        return refused ?? this.afterBudget(req, peerId, this.c.clock.now())
      })
    }
    return this.afterBudget(req, peerId, now)
  }

  /** A request past every check that costs the clients nothing: it takes from the shared budget, then is served. */
  private afterBudget (req: SnRequest, peerId: string, now: number): SnResponse | Promise<SnResponse> {
    const slot = this.slots.get(peerId)
    if (!take(this.bucket, now)) {
      this.c.log.event('sn.rejected', { client: slot?.name ?? (req.t === 'attach' ? req.name : peerId), reason: 'budget', pending: this.pending(), clients: this.activeCount() })
      return { t: 'busy', reason: 'budget', retryAfterMs: Math.round(waitMs(this.bucket, now)), alternatives: this.alternatives() }
    }
    switch (req.t) {
      case 'attach': {
        if (slot !== undefined) return { t: 'attached', deadlineMs: this.s.pendingSlotDeadlineMs }
        if (this.isFull(req.ticket?.account)) return this.full(req.name)
        if (req.ticket !== undefined) return this.attachProven(req.name, req.ticket, peerId)
        this.slots.set(peerId, { name: req.name, state: 'pending', since: now, lastSeen: now })
        this.idleSinceMs = null
        return { t: 'attached', deadlineMs: this.s.pendingSlotDeadlineMs }
      }
      case 'register':
        return slot === undefined ? { t: 'rejected', reason: 'no-slot' } : this.registerTicket(slot, peerId, req.ticket)
      case 'heartbeat':
        if (slot?.state !== 'active') return { t: 'unknown' }
        slot.lastSeen = now
        return { t: 'alive', load: this.load, supernodes: [this.info(), ...this.alternatives()].slice(0, this.s.snAlternativesMax + 1), ...(req.seq !== undefined ? { seq: req.seq } : {}) }
      case 'detach':
        if (slot !== undefined) this.release(peerId, 'detached')
        return { t: 'bye' }
    }
  }

  /** No slot free, unless `account` holds one already (its new identity will take that one's place). */
  private isFull (account: string | undefined): boolean {
    return this.slots.size >= this.s.slotsMax && (account === undefined || !this.accounts.has(account))
  }

  private full (client: string): SnResponse {
    this.c.log.event('sn.rejected', { client, reason: 'full', pending: this.pending(), clients: this.activeCount() })
    return { t: 'busy', reason: 'full', retryAfterMs: this.s.snBusyRetryAfterMs, alternatives: this.alternatives() }
  }

  /** Verify a ticket for `peerId`: null when valid, else the rejection (logged). */
  private async checkTicket (client: string, ticket: Ticket, peerId: string): Promise<SnResponse | null> {
    try {
      await verifyTicket(this.c.issuer, ticket, peerId, Date.now())
      return null
    } catch (err) {
      if (!(err instanceof InvalidTicketError)) throw err
      this.c.log.event('ticket.rejected', { client, error: err.message })
      return { t: 'rejected', reason: 'invalid-ticket' }
    }
  }

  /** An attach with a ticket, checked already (before the shared budget): a proven slot at once, bound to the ticket's account. */
  private attachProven (name: string, ticket: Ticket, peerId: string): SnResponse {
    // Things may have changed while the signature was checked.
    if (!this.active) return { t: 'not-supernode', alternatives: this.alternatives() }
    const now = this.c.clock.now()
    const slot: Slot = { name, state: 'pending', since: now, lastSeen: now }
    this.slots.set(peerId, slot)
    this.idleSinceMs = null
    this.prove(slot, peerId, ticket.account, now)
    return { t: 'attached', deadlineMs: this.s.pendingSlotDeadlineMs }
  }

  private async registerTicket (slot: Slot, peerId: string, ticket: Ticket): Promise<SnResponse> {
    if (slot.state === 'active') return { t: 'registered' }
    const refused = await this.checkTicket(slot.name, ticket, peerId)
    if (refused !== null) return refused
    // The slot may have been reclaimed while the signature was checked.
    if (this.slots.get(peerId) !== slot) return { t: 'rejected', reason: 'no-slot' }
    this.prove(slot, peerId, ticket.account, this.c.clock.now())
    return { t: 'registered' }
  }

  /** The slot is proven: active, bound to `account`; the account's slot held by another identity is let go. */
  private prove (slot: Slot, peerId: string, account: string, now: number): void {
    const other = this.accounts.get(account)
    if (other !== undefined && other !== peerId) this.release(other, 'replaced')
    slot.state = 'active'
    slot.lastSeen = now
    slot.account = account
    this.accounts.set(account, peerId)
    this.c.log.event('client.joined', { client: slot.name, clients: this.activeCount(), slotsMax: this.s.slotsMax })
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
      // Rounded up, so that the logged load stays above the threshold it crossed (2.004 is not logged as 2).
      this.c.log.event('sn.overload', { load: Math.ceil(load * 100) / 100, threshold: this.s.snOverloadThreshold, clients: this.activeCount() })
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
    if (slot.account !== undefined && this.accounts.get(slot.account) === peerId) this.accounts.delete(slot.account)
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

  private onExchange (msg: SnxMessage, conn: Connection): SnxMessage {
    if (!this.active) return { t: 'not-supernode' }
    const from = conn.remotePeer.toString()
    const now = this.c.clock.now()
    if (!this.peerBudgets.take(from, now)) {
      this.c.log.event('sn.limited', { from, request: 'exchange', retryAfterMs: Math.round(this.peerBudgets.waitMs(from, now)) })
    } else if (msg.t === 'exchange') {
      // A list is taken only from a supernode that signs its own record: the sender is accountable for what it adds.
      if (this.signer(msg.self) === from) takeGossip(this.gossip, [msg.self, ...msg.known], from, now)
      else logRefusals(this.c.log, from, { 'not-sender': 1 + msg.known.length })
    }
    return { t: 'exchange', self: this.info(), known: this.alternatives() }
  }

  /** The peer id that signed `r`, or null when it is not a valid record. */
  private signer (r: SnInfo): string | null {
    try {
      return verifyRecord(r, this.c.clock.now(), this.s.snEntryTtlMs, this.s.snEntryTtlMs)
    } catch (err) {
      if (err instanceof InvalidRecordError) return null
      throw err
    }
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
          const from = conn.remotePeer.toString()
          if (this.signer(res.self) !== from) {
            logRefusals(this.c.log, from, { 'not-sender': 1 + res.known.length })
            cache.fail(e.name)
            return
          }
          cache.ok(e.name, clock.now())
          takeGossip(this.gossip, [res.self, ...res.known], from, clock.now())
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
