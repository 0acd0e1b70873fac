/**
 * Starting a patchday process from its config: the peer (client/supernode) or
 * the login server. main.ts calls this with the environment's config; tests call
 * it in-process with a log destination of their own.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PublicKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { DestinationStream } from 'pino'
import type { PeerConfig } from './contract/config.ts'
import { ConfigError } from './contract/errors.ts'
import { bootstrapAddresses, loginAddress } from './contract/addrs.ts'
import { loadAccountsFile, loadState } from './peer-state.ts'
import { DerivedAccounts, fileAccounts, type AccountLookup } from './derived-accounts.ts'
import { createRng } from './contract/rng.ts'
import type { Role, SupernodeRef } from './contract/events.ts'
import { createEventLog, type EventLog } from './log.ts'
import { createNode, ownAddr } from './libp2p.ts'
import { TransportGuard } from './transport-guard.ts'
import type { TransportLimits } from './transport-limits.ts'
import { Clock } from './clock.ts'
import { Stats } from './stats.ts'
import { HostCache, loadHostCache } from './host-cache.ts'
import { LoginServer } from './services/login-server.ts'
import { Peer } from './peer.ts'
import { FaultArming } from './arming.ts'
import { IDENTITY_FILE, CREDENTIALS_FILE, HOST_CACHE_FILE, BOOTS_FILE } from './contract/state-files.ts'

export { IDENTITY_FILE, CREDENTIALS_FILE, HOST_CACHE_FILE, BOOTS_FILE }

async function loadAccounts (config: PeerConfig): Promise<AccountLookup> {
  if (config.accountsFile === '') {
    // parseConfig refuses this already; a config made by hand must not get accounts derived from an empty secret.
    if (config.labSecret === '') throw new ConfigError('PATCHDAY_ACCOUNTS_FILE', '', 'is required for role login (or PATCHDAY_LAB_SECRET, for derived accounts)')
    return new DerivedAccounts(config.labSecret).lookup
  }
  return fileAccounts((await loadAccountsFile(config.accountsFile)).accounts)
}

/** The public key that signs tickets: the login server's, from the /p2p/ part of its (complete) address. */
function loginIssuer (loginAddr: string): PublicKey {
  const id = multiaddr(loginAddr).getComponents().find(c => c.name === 'p2p')?.value as string
  let key: PublicKey | undefined
  try {
    key = peerIdFromString(id).publicKey
  } catch (err) {
    throw new ConfigError('PATCHDAY_LOGIN_ADDR', loginAddr, `bad peer id: ${(err as Error).message}`)
  }
  if (key === undefined) throw new ConfigError('PATCHDAY_LOGIN_ADDR', loginAddr, 'peer id carries no public key')
  return key
}

/** The transport guard's limits in real ms (node/transport-limits.ts). */
export function transportLimits (config: PeerConfig, clock: Clock): TransportLimits {
  return {
    connsMax: config.connsMax,
    connsPerPeerMax: config.connsPerPeerMax,
    connsPerIpMax: config.connsPerIpMax,
    handshakesMax: config.handshakesMax,
    handshakesPerIpMax: config.handshakesPerIpMax,
    handshakeTimeoutMs: config.handshakeTimeoutRealMs,
    connIdleMs: clock.real(config.connIdleTimeoutMs),
    streamLingerMs: config.streamLingerRealMs,
    streamsPerConnMax: config.streamsPerConnMax,
    logIntervalMs: Math.max(1, clock.real(config.guardLogIntervalMs)),
    misbehaviourMax: config.misbehaviourMax,
    misbehaviourWindowMs: config.misbehaviourWindowRealMs,
    overBudgetMax: config.overBudgetRefusalsMax,
    banMs: config.banRealMs,
    newcomerRatePerS: config.newcomerHandshakesPerRealS,
    newcomerBurst: config.newcomerHandshakesBurst,
    newcomerInFlightMax: config.newcomerHandshakesInFlightMax,
    newcomerQueueMax: config.newcomerHandshakesQueueMax,
    newcomerHoldMs: config.newcomerHandshakeHoldRealMs
  }
}

function cpuUsedUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

export interface Running {
  log: EventLog
  node: Libp2p
  addr: string
  /** The transport guard of the node (its counts and state, for tests). */
  guard: TransportGuard
  /** The peer (undefined for the login server). */
  peer?: Peer
  login?: LoginServer
  stop: () => Promise<void>
}

/** The crashing version's crash: exit at once with a distinctive code, as a crashed client would (its log line is written synchronously first). */
function crashProcess (log: EventLog): (reason: string, replyMs: number) => void {
  return () => {
    log.flush()
    process.exit(70)
  }
}

export async function startProcess (given: PeerConfig, logDest?: DestinationStream, crash?: (reason: string, replyMs: number) => void): Promise<Running> {
  await mkdir(given.stateDir, { recursive: true })
  // Validate everything before the first log line, so a bad setting exits 2 cleanly.
  const bootstrap: SupernodeRef[] = given.role === 'peer' ? await bootstrapAddresses(given.bootstrapAddrs, given.labSecret) : []
  // The config the peer runs with has every address complete (with /p2p/).
  const config: PeerConfig = given.role === 'peer'
    ? { ...given, loginAddr: await loginAddress(given.loginAddr, given.labSecret), bootstrapAddrs: bootstrap.map(b => `${b.name}=${b.addr}`) }
    : given
  const issuer = config.role === 'peer' ? loginIssuer(config.loginAddr) : undefined
  // Faults armed late: PATCHDAY_ARMED is checked here (exit 2 naming it); armed at once if the arm file exists already.
  const arming = new FaultArming(config)
  arming.armIfDue()
  // Every state file is checked before the first log line: a corrupt one exits 2 with one line (StateFileError).
  const accounts = config.role === 'login' ? await loadAccounts(config) : null
  const { inc, privateKey, credentials } = await loadState(config)
  const initialRole: Role = config.role === 'login' ? 'login' : config.bootstrap ? 'supernode' : 'client'
  let roleOf = (): Role => initialRole
  // The limiter's interval is real time (the clock is made below): log volume is a real resource.
  const logLimits = { max: config.logRepeatMax, intervalMs: Math.max(1, Math.round(config.logRepeatIntervalMs * config.timeScale)) }
  const log = createEventLog({ run: config.runId, peer: config.peer, inc, level: config.logLevel }, () => roleOf(), logDest, logLimits)
  const rng = createRng(`${config.seed}/${config.peer}/${inc}`)
  const clock = new Clock(config.timeScale)
  const stats = new Stats(config.peersContactedMax)
  const limits = transportLimits(config, clock)
  const guard = new TransportGuard(limits, (records, intervalMs) => {
    for (const r of records) log.event('conn.limited', { ...r, intervalMs })
  })
  const nodeInit = { privateKey, listenIp: config.listenIp, announceIp: config.announceIp, port: config.port, guard: { guard, limits } }
  const node = await createNode(nodeInit)
  const addr = ownAddr(node, nodeInit)

  if (config.role === 'login') {
    const server = new LoginServer({
      node,
      key: privateKey,
      accounts: accounts as AccountLookup,
      clock,
      log,
      stats,
      init: { concurrencyMax: config.loginConcurrencyMax, queueMax: config.loginQueueMax, ratePerS: config.loginRatePerS, overflow: config.loginOverflow, serviceMs: config.loginServiceMs, ticketTtlMs: config.ticketTtlMs,
        peerConcurrencyMax: config.loginPeerConcurrencyMax, peerRatePerS: config.loginPeerRatePerS, peerBurst: config.loginPeerBurst, peersTrackedMax: config.loginPeersTrackedMax, failBurst: config.loginFailBurst, failRatePerS: config.loginFailRatePerS, failAccountsMax: config.loginFailAccountsMax }
    })
    await server.start()
    const statsTimer = setInterval(() => { log.event('stats', stats.snapshot()) }, clock.real(config.statsIntervalMs))
    log.event('boot', { pid: process.pid, addr, capacityClass: config.capacityClass, bootstrap: false, hostCacheSize: 0, firstBoot: inc === 1, cpuUs: cpuUsedUs() })
    return { log, node, addr, guard, login: server, stop: async () => { clearInterval(statsTimer); await server.stop(); await node.stop(); log.flush() } }
  }

  const cachePath = join(config.stateDir, HOST_CACHE_FILE)
  const cacheLimits = { sourceMax: config.hostCacheSourceMax, gossipFailMax: config.hostCacheGossipFailMax }
  let cache: HostCache | null
  try {
    cache = await loadHostCache(cachePath, config.hostCacheMax, cacheLimits)
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'host cache unreadable; starting from the bootstrap list')
    cache = null
  }
  const firstBoot = cache === null || cache.size === 0
  cache ??= new HostCache(config.hostCacheMax, [], cacheLimits)
  if (firstBoot) for (const b of bootstrap) if (b.name !== config.peer) cache.learn(b.name, b.addr, null, clock.now(), 'bootstrap')
  const peer = new Peer({ node, key: privateKey, config, addr, issuer: issuer as NonNullable<typeof issuer>, cache, cachePath, clock, log, stats, rng, credentials: credentials as NonNullable<typeof credentials>, bootstrap: bootstrap.filter(b => b.name !== config.peer), crash: crash ?? crashProcess(log) })
  roleOf = () => peer.role
  await peer.start()
  log.event('boot', { pid: process.pid, addr, capacityClass: config.capacityClass, bootstrap: config.bootstrap, hostCacheSize: cache.size, firstBoot, cpuUs: cpuUsedUs() })
  arming.start(log)
  return { log, node, addr, guard, peer, stop: async () => { arming.stop(); await peer.stop(); await node.stop(); log.flush() } }
}
