/**
 * A peer: one libp2p node that is a client or a supernode, switching by election.
 * Composes the client, the supernode service, the election loop and the stats
 * loop; owns the role and the online state, and logs their changes.
 */
import type { Libp2p } from 'libp2p'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { Client } from './services/client.ts'
import { Supernode } from './services/supernode.ts'
import { decide, type ElectionSettings } from './election.ts'
import { saveHostCache, type HostCache } from './host-cache.ts'
import type { Clock } from './clock.ts'
import type { EventLog } from './log.ts'
import type { Stats } from './stats.ts'
import type { Rng } from './contract/rng.ts'
import type { PeerConfig } from './contract/config.ts'
import type { Credentials } from './contract/accounts.ts'
import type { OfflineReason, SupernodeRef } from './contract/events.ts'
import { isAbort } from './abort.ts'
import { INITIAL_RETRY_STATE } from './contract/retry-policies.ts'

export interface PeerComponents {
  node: Libp2p
  /** This peer's identity key: a supernode signs its own record with it. */
  key: PrivateKey
  config: PeerConfig
  addr: string
  issuer: PublicKey
  cache: HostCache
  cachePath: string
  clock: Clock
  log: EventLog
  stats: Stats
  rng: Rng
  credentials: Credentials
  bootstrap: SupernodeRef[]
  /** How a crash of the 'crashing version' ends things (the process exits; tests may do otherwise). */
  crash: (reason: string, replyMs: number) => void
}

export class Peer {
  private readonly c: PeerComponents
  readonly client: Client
  readonly supernode: Supernode
  role: 'client' | 'supernode' = 'client'
  private online = false
  private readonly bootAt: number
  private roleCtl = new AbortController()
  private readonly stopped = new AbortController()
  private timers: NodeJS.Timeout[] = []
  private loop: Promise<void> | null = null

  constructor (c: PeerComponents) {
    this.c = c
    this.bootAt = c.clock.now()
    const cfg = c.config
    this.supernode = new Supernode({
      node: c.node,
      key: c.key,
      name: cfg.peer,
      addr: c.addr,
      issuer: c.issuer,
      cache: c.cache,
      clock: c.clock,
      log: c.log,
      stats: c.stats,
      rng: c.rng.fork('sn'),
      settings: cfg,
      onOverload: () => { this.demote('overload') }
    })
    this.client = new Client({
      node: c.node,
      name: cfg.peer,
      clock: c.clock,
      log: c.log,
      stats: c.stats,
      rng: c.rng.fork('client'),
      cache: c.cache,
      settings: cfg,
      credentials: c.credentials,
      loginAddr: cfg.loginAddr,
      bootstrap: c.bootstrap,
      bootAt: this.bootAt,
      onOnline: (sn) => { this.setOnline(sn) },
      onOffline: (reason, sn) => { this.setOffline(reason, sn) },
      crash: (reason, replyMs) => {
        this.c.log.event('crash', { reason, replyMs, thresholdMs: Math.round(c.clock.real(cfg.crashReplyThresholdMs)) })
        this.c.crash(reason, replyMs)
      }
    })
  }

  get isOnline (): boolean { return this.online }

  async start (): Promise<void> {
    await this.supernode.register()
    if (this.c.config.bootstrap) {
      this.role = 'supernode'
      this.supernode.activate()
    }
    const { clock, config } = this.c
    this.timers.push(setInterval(() => { this.elect() }, clock.real(config.electIntervalMs)))
    this.timers.push(setInterval(() => { this.logStats() }, clock.real(config.statsIntervalMs)))
    this.timers.push(setInterval(() => { void this.saveCache() }, clock.real(config.hostCacheSaveIntervalMs)))
    this.loop = this.run()
  }

  private setOnline (sn: string | null): void {
    if (this.online) return
    this.online = true
    this.c.log.event('online', { sn, sinceBootMs: Math.round(this.c.clock.real(this.c.clock.now() - this.bootAt)) })
  }

  private setOffline (reason: OfflineReason, sn: string | null): void {
    if (!this.online) return
    this.online = false
    this.c.log.event('offline', { reason, sn })
  }

  private async run (): Promise<void> {
    // Sessions that end before getting online (register refused, slot reclaimed) back off too.
    let retry = INITIAL_RETRY_STATE
    while (!this.stopped.signal.aborted) {
      const signal = this.roleCtl.signal
      try {
        if (this.role === 'supernode') {
          // A supernode is a user too: it logs in, then serves until demoted or stopped.
          if (!this.client.ticketValid) this.client.ticket = await this.client.login(signal)
          this.setOnline(null)
          await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
        } else {
          const ended = await this.client.session(signal)
          if (ended === 'online') {
            retry = INITIAL_RETRY_STATE
          } else {
            const login = ended === 'login-failed'
            const b = await this.client.backoff(retry, login ? 'login' : 'attach', login ? this.client.lastHintMs : 0, signal)
            retry = b.state
            if (!b.gaveUp) await this.c.clock.sleep(b.delayMs, signal)
          }
        }
      } catch (err) {
        if (!isAbort(err)) throw err
      }
    }
  }

  private switchRole (): void {
    this.roleCtl.abort()
    this.roleCtl = new AbortController()
  }

  private elect (): void {
    const { clock, config, cache } = this.c
    const now = clock.now()
    const fresh = cache.fresh(now, config.snEntryTtlMs)
    const settings: ElectionSettings = {
      minCapacityClass: config.electMinCapacityClass,
      minUptimeMs: config.electMinUptimeMs,
      promoteProb: config.electPromoteProb,
      loadHigh: config.electLoadHigh,
      loadLow: config.electLoadLow,
      busyWindowMs: config.electBusyWindowMs,
      demoteIdleMs: config.electDemoteIdleMs,
      demoteProb: config.electDemoteProb,
      minSupernodes: config.electMinSupernodes,
      shortageBypassUptime: config.electShortageBypassUptime
    }
    const d = decide(settings, {
      now,
      role: this.role,
      bootstrap: config.bootstrap,
      capacityClass: config.capacityClass,
      reachable: config.reachable,
      uptimeMs: now - this.bootAt,
      lastBusyAt: this.client.lastBusyAt,
      online: this.online,
      knownSupernodes: fresh.count,
      meanLoad: fresh.meanLoad,
      clients: this.supernode.clients,
      idleSince: this.supernode.idleSince
    }, () => this.c.rng.next())
    if (d.action === 'promote') {
      this.role = 'supernode'
      this.supernode.activate()
      this.c.log.event('promoted', { reason: d.reason, uptimeMs: Math.round(clock.real(now - this.bootAt)) })
      this.switchRole()
    } else if (d.action === 'demote') {
      this.demote(d.reason)
    }
  }

  private demote (reason: string): void {
    if (this.role !== 'supernode') return
    const clients = this.supernode.clients
    this.role = 'client'
    this.client.lastBusyAt = null
    void this.supernode.deactivate('demoted')
    this.c.log.event('demoted', { reason, clients })
    this.setOffline('demoted', null)
    this.switchRole()
  }

  private logStats (): void {
    this.c.log.event('stats', { ...this.c.stats.snapshot(), ...(this.role === 'supernode' ? { clients: this.supernode.clients } : {}) })
  }

  private async saveCache (): Promise<void> {
    try {
      await saveHostCache(this.c.cachePath, this.c.cache)
    } catch (err) {
      this.c.log.warn({ err: (err as Error).message }, 'host cache not saved')
    }
  }

  /** Graceful stop: leave the supernode, let clients go, close the login connection, save the cache. */
  async stop (): Promise<void> {
    this.stopped.abort()
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    this.roleCtl.abort()
    await this.loop?.catch((err: unknown) => { this.c.log.warn({ err: (err as Error).message }, 'peer loop failed') })
    await this.client.stop()
    await this.supernode.stop()
    await this.saveCache()
  }
}
