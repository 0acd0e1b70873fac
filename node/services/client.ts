/**
 * The client role: attach to a supernode from the host cache, log in with the
 * login server, register the ticket at the supernode, then stay online with
 * heartbeats until the supernode goes away.
 *
 * Attach tries up to `attachCandidatesMax` cached supernodes per round,
 * `attachParallelMax` at a time, each with `attachTimeoutMs`; between failed
 * rounds and failed logins it waits as the retry policy says, and after
 * `retryAttemptsMax` it gives up for `giveUpPauseMs`, like a user who tries later.
 * After a failed login it tries other supernodes first (`attachAvoidMax`, node/attach-rotation.ts).
 */
import type { Libp2p } from 'libp2p'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { LoginResponse, PROTOCOL_HEARTBEAT, PROTOCOL_LOGIN, PROTOCOL_SN, SnResponse, type SnInfo, type Ticket } from '../protocol/messages.ts'
import { framed, readMessage, writeMessage, type Framed } from '../protocol/codec.ts'
import { dialCounted, exchange, request } from '../rpc.ts'
import { LoginLink } from '../login-link.ts'
import { keepsLoginLink } from '../login-reuse.ts'
import { INITIAL_RETRY_STATE, nextRetry, type RetryPolicy, type RetryState } from '../contract/retry-policies.ts'
import type { HostCache } from '../host-cache.ts'
import type { Clock } from '../clock.ts'
import type { EventLog } from '../log.ts'
import type { Stats } from '../stats.ts'
import type { Rng } from '../contract/rng.ts'
import type { PeerConfig } from '../contract/config.ts'
import type { Credentials } from '../contract/accounts.ts'
import type { AttachFailure, OfflineReason, SupernodeRef } from '../contract/events.ts'
import { isAbort } from '../abort.ts'
import { clampRetryHint } from '../retry-hint.ts'
import { takeGossip, type GossipContext } from '../gossip.ts'
import { avoidAfterFailure, rotateCandidates } from '../attach-rotation.ts'

export type ClientSettings = Pick<PeerConfig, 'attachTimeoutMs' | 'attachParallelMax' | 'attachCandidatesMax' | 'attachAvoidMax' | 'loginTimeoutMs' |
'retryPolicy' | 'retryBaseMs' | 'retryCapMs' | 'retryAttemptsMax' | 'retryHonorHint' | 'retryHintMaxMs' | 'giveUpPauseMs' | 'crashReplyThresholdMs' |
'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'heartbeatMissMax' | 'snAttachTicket' | 'snEntryTtlMs'>

export interface ClientComponents {
  node: Libp2p
  name: string
  clock: Clock
  log: EventLog
  stats: Stats
  rng: Rng
  cache: HostCache
  settings: ClientSettings
  credentials: Credentials
  loginAddr: string
  bootstrap: SupernodeRef[]
  bootAt: number
  /** Told when the peer is online at a supernode and when it drops off. */
  onOnline: (sn: string) => void
  onOffline: (reason: OfflineReason, sn: string) => void
  /** The 'crashing version' (2010 model): called when a reply was slower than crashReplyThresholdMs. */
  crash: (reason: string, replyMs: number) => void
}

interface Attached { name: string, conn: Connection }

/** How long a ticket must still be valid to be worth presenting (real ms). */
const TICKET_MARGIN_MS = 1000

export class Client {
  private readonly c: ClientComponents
  private readonly s: ClientSettings
  /** Read at each use, not kept: the retry settings may be armed while the peer runs (node/arming.ts). */
  private get policy (): RetryPolicy {
    return { policy: this.s.retryPolicy, baseMs: this.s.retryBaseMs, capMs: this.s.retryCapMs, attemptsMax: this.s.retryAttemptsMax }
  }
  ticket: Ticket | null = null
  /** When a supernode last turned this peer away as busy (emulated ms): the election's demand signal. */
  lastBusyAt: number | null = null
  /** The largest retry hint of the current attach round's busy answers (emulated ms). */
  private roundHintMs = 0
  /** The retry hint of the last login's busy answer, when hints are honoured (emulated ms). */
  lastHintMs = 0
  /** Login attempts since the last success (numbering for the events). */
  private loginAttempts = 0
  private readonly gossip: GossipContext
  /** The connection to the login server, kept between login attempts. */
  private readonly loginLink: LoginLink
  /** Supernodes of the last failed logins, oldest first: tried last (attachAvoidMax). */
  private avoid: string[] = []

  constructor (c: ClientComponents) {
    this.c = c
    this.s = c.settings
    this.loginLink = new LoginLink(c.node, c.loginAddr, c.stats)
    this.gossip = { cache: c.cache, log: c.log, self: c.name, lifeMaxMs: this.s.snEntryTtlMs, skewMs: this.s.snEntryTtlMs }
  }

  /** The peer stops: let the login server's connection go. */
  async stop (): Promise<void> {
    await this.loginLink.drop()
  }

  /** 2010 model: a reply slower than the threshold crashes this client version (0 = off). */
  private checkSlowReply (what: string, t0: number): void {
    if (this.s.crashReplyThresholdMs <= 0) return
    const replyMs = performance.now() - t0
    if (replyMs > this.c.clock.real(this.s.crashReplyThresholdMs)) this.c.crash(`slow ${what} reply`, Math.round(replyMs))
  }

  get ticketValid (): boolean { return this.ticket !== null && this.ticket.exp - Date.now() > TICKET_MARGIN_MS }

  /**
   * One session: attach, log in if needed (one attempt), register, heartbeats
   * until lost. Returns how it ended; throws only on abort.
   *
   * A failed login ends the session: the client drops its supernode and starts
   * over after the retry policy's wait, as Skype's client did. It closes the
   * connection without a detach, so the pending slot it held is reclaimed only
   * by the supernode's deadline (and never, with the slot-leak fault).
   */
  async session (signal: AbortSignal): Promise<'online' | 'login-failed' | 'register-failed'> {
    // Where supernodes take no one without a ticket, log in first.
    if (this.s.snAttachTicket === 'required' && !this.ticketValid) {
      this.ticket = await this.loginOnce(++this.loginAttempts, signal)
      if (this.ticket === null) return 'login-failed'
      this.loginAttempts = 0
    }
    const sn = await this.attach(signal)
    try {
      if (!this.ticketValid) {
        this.ticket = await this.loginOnce(++this.loginAttempts, signal)
        if (this.ticket === null) {
          this.avoid = avoidAfterFailure(this.avoid, sn.name, this.s.attachAvoidMax)
          return 'login-failed'
        }
        this.loginAttempts = 0
        this.avoid = []
      }
      const ticket = this.ticket
      const reg = await request(sn.conn, PROTOCOL_SN, { t: 'register', ticket }, SnResponse, this.c.stats, this.c.clock.timeout(this.s.attachTimeoutMs, signal))
        .catch((err: unknown) => { if (signal.aborted) throw err; return { t: 'rejected' as const, reason: (err as Error).name } })
      if (reg.t !== 'registered') {
        const reason = reg.t === 'rejected' ? reg.reason : reg.t
        this.c.log.event('register.failed', { sn: sn.name, reason })
        if (reason === 'invalid-ticket') this.ticket = null
        return 'register-failed'
      }
      this.c.log.event('register.ok', { sn: sn.name })
      this.c.onOnline(sn.name)
      const reason = await this.heartbeats(sn, signal)
      this.c.onOffline(reason, sn.name)
      return 'online'
    } finally {
      // Leaving on purpose (promotion, shutdown): free the slot at once instead of by timeout.
      if (signal.aborted && sn.conn.status === 'open') await this.detach(sn)
      await sn.conn.close().catch((err: unknown) => { sn.conn.abort(err as Error) })
    }
  }

  private async detach (sn: Attached): Promise<void> {
    try {
      await request(sn.conn, PROTOCOL_SN, { t: 'detach' }, SnResponse, this.c.stats, AbortSignal.timeout(1000))
    } catch (err) {
      this.c.log.debug({ sn: sn.name, err: (err as Error).name }, 'detach failed')
    }
  }

  private seedIfEmpty (): void {
    if (this.c.cache.size > 0) return
    const now = this.c.clock.now()
    for (const b of this.c.bootstrap) this.c.cache.learn(b.name, b.addr, null, now, 'bootstrap')
  }

  /** Wait after a failure as the policy says; after the attempt limit, pause like a user giving up. */
  async backoff (state: RetryState, phase: 'attach' | 'login', hintMs: number, signal: AbortSignal): Promise<{ state: RetryState, delayMs: number, gaveUp: boolean }> {
    const next = nextRetry(this.policy, state, () => this.c.rng.next())
    if (next.giveUp) {
      this.c.log.event('login.gaveup', { attempts: next.state.failures, pauseMs: this.s.giveUpPauseMs, phase })
      await this.c.clock.sleep(this.s.giveUpPauseMs, signal)
      return { state: INITIAL_RETRY_STATE, delayMs: this.s.giveUpPauseMs, gaveUp: true }
    }
    const delayMs = Math.max(next.delayMs, hintMs)
    return { state: next.state, delayMs, gaveUp: false }
  }

  async attach (signal: AbortSignal): Promise<Attached> {
    let retry = INITIAL_RETRY_STATE
    for (let round = 1; ; round++) {
      this.seedIfEmpty()
      // Avoided supernodes are reordered, not dropped: ask the cache for enough to fill the round after them.
      const candidates = rotateCandidates(this.c.cache.candidates(this.s.attachCandidatesMax + this.avoid.length, xs => this.c.rng.shuffle(xs)), this.avoid)
        .slice(0, this.s.attachCandidatesMax)
      const won = await this.attachRound(candidates.map(e => ({ name: e.name, addr: e.addr })), round, signal)
      if (won !== null) return won
      const b = await this.backoff(retry, 'attach', this.s.retryHonorHint ? this.roundHintMs : 0, signal)
      retry = b.state
      if (b.gaveUp) continue
      this.c.log.event('attach.round-failed', { round, tried: candidates.length, delayMs: b.delayMs })
      await this.c.clock.sleep(b.delayMs, signal)
    }
  }

  private async attachRound (candidates: SupernodeRef[], round: number, signal: AbortSignal): Promise<Attached | null> {
    const won = new AbortController()
    const laneSignal = AbortSignal.any([signal, won.signal])
    let winner: Attached | null = null
    let next = 0
    this.roundHintMs = 0
    const lane = async (): Promise<void> => {
      while (winner === null && next < candidates.length && !laneSignal.aborted) {
        const sn = candidates[next++] as SupernodeRef
        const got = await this.tryAttach(sn, round, laneSignal)
        if (got === null) continue
        if (winner === null) {
          winner = got
          won.abort()
        } else {
          await this.detach(got)
          await got.conn.close().catch((err: unknown) => { got.conn.abort(err as Error) })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.s.attachParallelMax, candidates.length) }, lane))
    if (signal.aborted) {
      const w = winner as Attached | null
      if (w !== null) await w.conn.close().catch((err: unknown) => { w.conn.abort(err as Error) })
      signal.throwIfAborted()
    }
    return winner
  }

  /** Take in a supernode list told by `source` (the remote peer id): signed records only, bounded per source. */
  private learn (list: SnInfo[], source: string): void {
    takeGossip(this.gossip, list, source, this.c.clock.now())
  }

  private attachFailed (sn: SupernodeRef, reason: AttachFailure, t0: number, round: number, error?: string): null {
    this.c.log.event('attach.failed', { sn: sn.name, reason, latencyMs: Math.round(performance.now() - t0), round, ...(error !== undefined ? { error } : {}) })
    return null
  }

  /** One attach try; null when it failed (logged), the connection when it worked. */
  private async tryAttach (sn: SupernodeRef, round: number, laneSignal: AbortSignal): Promise<Attached | null> {
    const { node, clock, cache, stats } = this.c
    const t0 = performance.now()
    const signal = clock.timeout(this.s.attachTimeoutMs, laneSignal)
    let conn: Connection
    try {
      conn = await dialCounted(node, multiaddr(sn.addr), stats, { signal })
    } catch (err) {
      if (laneSignal.aborted) return null
      cache.fail(sn.name)
      return this.attachFailed(sn, signal.aborted ? 'timeout' : 'refused', t0, round, (err as Error).name)
    }
    try {
      // A valid ticket proves the slot at once (the supernode binds it to our account).
      const ticket = this.ticketValid ? this.ticket : null
      const res = await request(conn, PROTOCOL_SN, { t: 'attach', name: this.c.name, ...(ticket !== null ? { ticket } : {}) }, SnResponse, stats, signal)
      this.checkSlowReply('attach', t0)
      if (res.t === 'attached') {
        cache.ok(sn.name, clock.now())
        this.c.log.event('attach.ok', { sn: sn.name, latencyMs: Math.round(performance.now() - t0), round })
        return { name: sn.name, conn }
      }
      await conn.close().catch((err: unknown) => { conn.abort(err as Error) })
      if (res.t === 'busy') {
        // Turned away: like a failed login there, the next rounds try the supernodes not just tried first.
        this.avoid = avoidAfterFailure(this.avoid, sn.name, this.s.attachAvoidMax)
        this.lastBusyAt = clock.now()
        this.roundHintMs = Math.max(this.roundHintMs, this.hint(sn.name, res.retryAfterMs))
        this.learn(res.alternatives, conn.remotePeer.toString())
        cache.learn(sn.name, sn.addr, 1, clock.now())
        return this.attachFailed(sn, 'busy', t0, round)
      }
      if (res.t === 'not-supernode') {
        this.learn(res.alternatives, conn.remotePeer.toString())
        cache.forget(sn.name)
        return this.attachFailed(sn, 'not-supernode', t0, round)
      }
      if (res.t === 'rejected') {
        // Our ticket was refused (drop it: log in again), or this supernode wants one we do not have.
        if (res.reason === 'invalid-ticket') this.ticket = null
        return this.attachFailed(sn, 'error', t0, round, `rejected ${res.reason}`)
      }
      cache.fail(sn.name)
      return this.attachFailed(sn, 'error', t0, round, `unexpected ${res.t}`)
    } catch (err) {
      conn.abort(err as Error)
      if (laneSignal.aborted) return null
      cache.fail(sn.name)
      return this.attachFailed(sn, signal.aborted ? 'timeout' : 'error', t0, round, (err as Error).name)
    }
  }

  /** A retry hint as this client will wait on it: clamped to retryHintMaxMs (logged when it had to be). */
  private hint (from: string, hintMs: number): number {
    const h = clampRetryHint(hintMs, this.s.retryHintMaxMs)
    if (h.clamped) this.c.log.event('hint.clamped', { from, hintMs: Number.isFinite(hintMs) ? hintMs : -1, usedMs: h.ms })
    return h.ms
  }

  /**
   * One login attempt (logged); the ticket, or null with `lastHintMs` set from a busy answer's hint.
   * One stream on the connection the client keeps to the login server (node/login-link.ts).
   */
  async loginOnce (attempt: number, signal: AbortSignal): Promise<Ticket | null> {
    const t0 = performance.now()
    const s = this.c.clock.timeout(this.s.loginTimeoutMs, signal)
    let res: LoginResponse | null = null
    let error = ''
    let streamOpened = false
    this.lastHintMs = 0
    try {
      const { conn, stream } = await this.loginLink.open(PROTOCOL_LOGIN, s)
      streamOpened = true
      res = await exchange(conn, stream, { t: 'login', ...this.c.credentials }, LoginResponse, this.c.stats, s)
    } catch (err) {
      // Stopping or switching roles: the connection stays for the next login (stop() closes it).
      if (signal.aborted) throw err
      error = (err as Error).name
    }
    if (!keepsLoginLink({ answer: res?.t ?? null, timedOut: s.aborted, streamOpened })) await this.loginLink.drop()
    if (res !== null || s.aborted) this.checkSlowReply('login', t0)
    const latencyMs = Math.round(performance.now() - t0)
    if (res?.t === 'ok') {
      this.c.log.event('login.ok', { latencyMs, attempt })
      return res.ticket
    }
    if (res === null) {
      this.c.log.event('login.failed', { reason: s.aborted ? 'timeout' : 'error', latencyMs, attempt, detail: error })
    } else if (res.t === 'busy') {
      this.c.log.event('login.failed', { reason: 'busy', latencyMs, attempt })
      if (this.s.retryHonorHint) this.lastHintMs = this.hint('login', res.retryAfterMs)
    } else {
      this.c.log.event('login.failed', { reason: 'rejected', latencyMs, attempt, detail: res.reason })
    }
    return null
  }

  /** Log in until it works (or the signal aborts), backing off between attempts: a supernode's login, which holds no slot anywhere. */
  async login (signal: AbortSignal): Promise<Ticket> {
    let retry = INITIAL_RETRY_STATE
    for (let attempt = 1; ; attempt++) {
      const ticket = await this.loginOnce(attempt, signal)
      if (ticket !== null) return ticket
      const b = await this.backoff(retry, 'login', this.lastHintMs, signal)
      retry = b.state
      if (!b.gaveUp) await this.c.clock.sleep(b.delayMs, signal)
    }
  }

  /** Heartbeats until the supernode is lost; returns why. One stream carries them all (see PROTOCOL_HEARTBEAT). */
  private async heartbeats (sn: Attached, signal: AbortSignal): Promise<OfflineReason> {
    const { clock, stats, cache } = this.c
    let missed = 0
    let seq = 0
    let hb: { stream: Stream, lp: Framed } | null = null
    const closed = new AbortController()
    const onClose = (): void => { closed.abort() }
    sn.conn.addEventListener('close', onClose, { once: true })
    try {
      for (;;) {
        try {
          await clock.sleep(this.s.heartbeatIntervalMs, AbortSignal.any([signal, closed.signal]))
        } catch (err) {
          if (signal.aborted || !closed.signal.aborted) throw err
        }
        if (closed.signal.aborted || sn.conn.status !== 'open') return 'supernode-gone'
        const s = clock.timeout(this.s.heartbeatTimeoutMs, signal)
        stats.contact(sn.conn.remotePeer.toString())
        try {
          if (hb === null) {
            const stream = await sn.conn.newStream(PROTOCOL_HEARTBEAT, { signal: s })
            hb = { stream, lp: framed(stream) }
          }
          seq++
          stats.sent(await writeMessage(hb.lp, { t: 'heartbeat', seq }, { signal: s }))
          let res = await readMessage(hb.lp, SnResponse, { signal: s }, n => { stats.recv(n) })
          // An answer to an earlier heartbeat (it came late): the next one is ours.
          while (res.t === 'alive' && res.seq !== undefined && res.seq < seq) res = await readMessage(hb.lp, SnResponse, { signal: s }, n => { stats.recv(n) })
          if (res.t === 'alive') {
            missed = 0
            this.learn(res.supernodes, sn.conn.remotePeer.toString())
            cache.ok(sn.name, clock.now())
            continue
          }
          if (res.t === 'unknown' || res.t === 'not-supernode') return 'session-unknown'
          missed++
        } catch (err) {
          if (signal.aborted) throw err
          // A stream that failed or timed out is replaced: its state is unknown.
          hb?.stream.abort(err instanceof Error ? err : new Error(String(err)))
          hb = null
          if (sn.conn.status !== 'open') return 'supernode-gone'
          if (!isAbort(err)) this.c.log.debug({ sn: sn.name, err: (err as Error).name }, 'heartbeat failed')
          missed++
        }
        if (missed >= this.s.heartbeatMissMax) {
          this.c.log.event('heartbeat.lost', { sn: sn.name, missed })
          return 'heartbeat-lost'
        }
      }
    } finally {
      sn.conn.removeEventListener('close', onClose)
      if (hb !== null) await hb.stream.close().catch((err: unknown) => { hb?.stream.abort(err as Error) })
    }
  }
}
