/**
 * The login server: checks credentials and issues signed, expiring tickets bound
 * to the client's libp2p identity.
 *
 * Its capacity is an emulation knob: at most `concurrencyMax` logins in service,
 * at most `queueMax` waiting, at most `ratePerS` started per emulated second, and
 * each takes `serviceMs` of emulated time. Past the queue it answers busy (with a
 * retry hint) or, in 'timeout' mode, holds the request unanswered until the
 * client gives up.
 *
 * Ahead of that shared capacity, three bounds that no legitimate peer reaches
 * (so a login flood of many peers, the experiment, is unchanged): one peer has
 * at most `peerConcurrencyMax` logins in flight and sends at most
 * `peerRatePerS` requests per emulated second after a burst of `peerBurst` (a token
 * bucket per peer id, at most `peersTrackedMax` remembered: one peer cannot
 * spend the shared rate budget that every other peer's login waits on), and an account that had
 * `failBurst` wrong passwords gets one more try per 1/`failRatePerS` emulated
 * seconds (a token bucket per account, at most `failAccountsMax` accounts
 * remembered); both are answered busy with a retry hint, before any password
 * is checked. An unknown account and a wrong password get the same answer
 * (`bad-credentials`), after the same scrypt work (a dummy record for an
 * unknown name); only the server's own `login.served` line says which.
 */
import type { Libp2p } from 'libp2p'
import type { Connection, PrivateKey } from '@libp2p/interface'
import { LoginRequest, PROTOCOL_LOGIN, type LoginResponse } from '../protocol/messages.ts'
import { serve } from '../rpc.ts'
import { reportOverBudget, vouchFor } from '../transport-guard.ts'
import { hashPassword, verifyPassword } from '../contract/accounts.ts'
import type { AccountLookup } from '../derived-accounts.ts'
import { signTicket } from '../tickets.ts'
import { BucketMap, createBucket, take, waitMs, type TokenBucket } from '../token-bucket.ts'
import type { Clock } from '../clock.ts'
import type { EventLog } from '../log.ts'
import type { Stats } from '../stats.ts'
import { LOGIN_HOLD_MAX_MS } from '../constants.ts'
import { ignoreAbort } from '../abort.ts'

export interface LoginServerInit {
  concurrencyMax: number
  queueMax: number
  ratePerS: number
  overflow: 'busy' | 'timeout'
  serviceMs: number
  ticketTtlMs: number
  peerConcurrencyMax: number
  peerRatePerS: number
  peerBurst: number
  peersTrackedMax: number
  failBurst: number
  failRatePerS: number
  failAccountsMax: number
}

/** Checked against when the account does not exist, so that an unknown name costs the same scrypt work as a wrong password. */
const DUMMY_RECORD = hashPassword('patchday-no-such-account', Buffer.alloc(16))

interface Waiter { resolve: () => void, enqueuedAt: number }

export class LoginServer {
  private readonly node: Libp2p
  private readonly key: PrivateKey
  private readonly accounts: AccountLookup
  private readonly init: LoginServerInit
  private readonly clock: Clock
  private readonly log: EventLog
  private readonly stats: Stats
  private readonly bucket: TokenBucket
  private readonly queue: Waiter[] = []
  private inService = 0
  /** Logins in flight per peer id (an entry exists only while one is). */
  private readonly inFlight = new Map<string, number>()
  /** Login budget per peer id, spent before the shared rate limit. */
  private readonly peerRate: BucketMap
  /** Wrong-password budget per account. */
  private readonly failures: BucketMap
  private readonly stopping = new AbortController()

  constructor (c: { node: Libp2p, key: PrivateKey, accounts: AccountLookup, init: LoginServerInit, clock: Clock, log: EventLog, stats: Stats }) {
    this.node = c.node; this.key = c.key; this.accounts = c.accounts; this.init = c.init
    this.clock = c.clock; this.log = c.log; this.stats = c.stats
    this.bucket = createBucket(c.init.ratePerS, Math.max(1, Math.ceil(c.init.ratePerS)), c.clock.now())
    this.peerRate = new BucketMap(c.init.peerRatePerS, c.init.peerBurst, c.init.peersTrackedMax)
    this.failures = new BucketMap(c.init.failRatePerS, c.init.failBurst, c.init.failAccountsMax)
  }

  async start (): Promise<void> {
    await this.node.handle(PROTOCOL_LOGIN, serve(PROTOCOL_LOGIN, LoginRequest, this.stats, this.log, async (req, conn) => await this.login(req, conn)), {
      maxInboundStreams: 4
    })
  }

  async stop (): Promise<void> {
    this.stopping.abort()
    await this.node.unhandle(PROTOCOL_LOGIN)
  }

  get load (): { inService: number, queued: number } { return { inService: this.inService, queued: this.queue.length } }

  /** Roughly when the work ahead will have drained, at the rate limit or the service time, whichever binds (emulated ms). */
  private drainHintMs (): number {
    const perLoginMs = Math.max(1000 / this.init.ratePerS, this.init.serviceMs / this.init.concurrencyMax)
    return Math.round((this.queue.length + this.inService) * perLoginMs)
  }

  private async login (req: LoginRequest, conn: Connection): Promise<LoginResponse | undefined> {
    const from = conn.remotePeer.toString()
    const arrived = this.clock.now()
    // Every request spends the peer's own budget, refused ones too: a peer looping on busy answers runs out.
    if (!this.peerRate.take(from, arrived)) {
      const retryAfterMs = Math.round(this.peerRate.waitMs(from, arrived))
      this.log.event('login.limited', { from, account: req.account, reason: 'peer-rate', retryAfterMs })
      reportOverBudget(conn)
      return { t: 'busy', retryAfterMs }
    }
    const mine = this.inFlight.get(from) ?? 0
    if (mine >= this.init.peerConcurrencyMax) {
      const retryAfterMs = this.drainHintMs()
      this.log.event('login.limited', { from, account: req.account, reason: 'peer-concurrency', retryAfterMs })
      return { t: 'busy', retryAfterMs }
    }
    if (this.failures.tokens(req.account, arrived) < 1) {
      const retryAfterMs = Math.round(this.failures.waitMs(req.account, arrived))
      this.log.event('login.limited', { from, account: req.account, reason: 'account-failures', retryAfterMs })
      return { t: 'busy', retryAfterMs }
    }
    this.inFlight.set(from, mine + 1)
    try {
      return await this.queued(req, conn, arrived)
    } finally {
      const n = (this.inFlight.get(from) ?? 1) - 1
      if (n > 0) this.inFlight.set(from, n)
      else this.inFlight.delete(from)
    }
  }

  private async queued (req: LoginRequest, conn: Connection, arrived: number): Promise<LoginResponse | undefined> {
    if (this.inService >= this.init.concurrencyMax) {
      if (this.queue.length >= this.init.queueMax) return await this.overflow(req.account)
      await new Promise<void>(resolve => { this.queue.push({ resolve, enqueuedAt: arrived }) })
    }
    this.inService++
    try {
      // The rate limit: wait for a token (bounded by the stop signal).
      let wait = waitMs(this.bucket, this.clock.now())
      while (wait > 0 || !take(this.bucket, this.clock.now())) {
        await this.clock.sleep(Math.max(1, wait), this.stopping.signal)
        wait = waitMs(this.bucket, this.clock.now())
      }
      const queueMs = this.clock.real(this.clock.now() - arrived)
      await this.clock.sleep(this.init.serviceMs, this.stopping.signal)
      const cpu0 = process.cpuUsage()
      const account = this.accounts(req.account)
      // The same work whether the account exists or not.
      const passwordOk = verifyPassword(req.password, account ?? DUMMY_RECORD) && account !== undefined
      let res: LoginResponse
      if (!passwordOk) {
        this.failures.take(req.account, this.clock.now())
        res = { t: 'rejected', reason: 'bad-credentials' }
      } else {
        const exp = Math.round(Date.now() + this.clock.real(this.init.ticketTtlMs))
        res = { t: 'ok', ticket: await signTicket(this.key, req.account, conn.remotePeer.toString(), exp) }
        vouchFor(conn)
      }
      const cpu = process.cpuUsage(cpu0)
      this.log.event('login.served', {
        account: req.account,
        outcome: res.t === 'ok' ? 'ok' : 'rejected',
        // The operator's log says which; the client is told only bad-credentials.
        ...(res.t === 'rejected' ? { reason: account === undefined ? 'unknown-account' : 'bad-password' } : {}),
        queueMs,
        cpuUs: cpu.user + cpu.system
      })
      return res
    } finally {
      this.inService--
      this.queue.shift()?.resolve()
    }
  }

  private async overflow (account: string): Promise<LoginResponse | undefined> {
    if (this.init.overflow === 'busy') {
      this.log.event('login.served', { account, outcome: 'busy', queueMs: 0, cpuUs: 0 })
      return { t: 'busy', retryAfterMs: this.drainHintMs() }
    }
    this.log.event('login.served', { account, outcome: 'dropped', queueMs: 0, cpuUs: 0 })
    // 'timeout' mode: never answer; the client's own timeout decides. Bounded.
    await this.clock.sleep(LOGIN_HOLD_MAX_MS / this.clock.timeScale, this.stopping.signal).catch(ignoreAbort)
    return undefined
  }
}
