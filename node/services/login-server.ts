/**
 * The login server: checks credentials and issues signed, expiring tickets bound
 * to the client's libp2p identity.
 *
 * Its capacity is an emulation knob: at most `concurrencyMax` logins in service,
 * at most `queueMax` waiting, at most `ratePerS` started per emulated second, and
 * each takes `serviceMs` of emulated time. Past the queue it answers busy (with a
 * retry hint) or, in 'timeout' mode, holds the request unanswered until the
 * client gives up.
 */
import type { Libp2p } from 'libp2p'
import type { Connection, PrivateKey } from '@libp2p/interface'
import { LoginRequest, PROTOCOL_LOGIN, type LoginResponse } from '../protocol/messages.ts'
import { serve } from '../rpc.ts'
import { verifyPassword } from '../contract/accounts.ts'
import type { AccountLookup } from '../derived-accounts.ts'
import { signTicket } from '../tickets.ts'
import { createBucket, take, waitMs, type TokenBucket } from '../token-bucket.ts'
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
}

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
  private readonly stopping = new AbortController()

  constructor (c: { node: Libp2p, key: PrivateKey, accounts: AccountLookup, init: LoginServerInit, clock: Clock, log: EventLog, stats: Stats }) {
    this.node = c.node; this.key = c.key; this.accounts = c.accounts; this.init = c.init
    this.clock = c.clock; this.log = c.log; this.stats = c.stats
    this.bucket = createBucket(c.init.ratePerS, Math.max(1, Math.ceil(c.init.ratePerS)), c.clock.now())
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

  private async login (req: LoginRequest, conn: Connection): Promise<LoginResponse | undefined> {
    const arrived = this.clock.now()
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
      let res: LoginResponse
      if (account === undefined) {
        res = { t: 'rejected', reason: 'unknown-account' }
      } else if (!verifyPassword(req.password, account)) {
        res = { t: 'rejected', reason: 'bad-password' }
      } else {
        const exp = Math.round(Date.now() + this.clock.real(this.init.ticketTtlMs))
        res = { t: 'ok', ticket: await signTicket(this.key, req.account, conn.remotePeer.toString(), exp) }
      }
      const cpu = process.cpuUsage(cpu0)
      this.log.event('login.served', {
        account: req.account,
        outcome: res.t === 'ok' ? 'ok' : 'rejected',
        ...(res.t === 'rejected' ? { reason: res.reason } : {}),
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
      // Hint: roughly when the work ahead will have drained, at the rate limit or the service time, whichever binds.
      const perLoginMs = Math.max(1000 / this.init.ratePerS, this.init.serviceMs / this.init.concurrencyMax)
      const retryAfterMs = Math.round((this.queue.length + this.inService) * perLoginMs)
      return { t: 'busy', retryAfterMs }
    }
    this.log.event('login.served', { account, outcome: 'dropped', queueMs: 0, cpuUs: 0 })
    // 'timeout' mode: never answer; the client's own timeout decides. Bounded.
    await this.clock.sleep(LOGIN_HOLD_MAX_MS / this.clock.timeScale, this.stopping.signal).catch(ignoreAbort)
    return undefined
  }
}
