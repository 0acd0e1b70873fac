/**
 * Starting a patchday process from its config: the peer (client/supernode) or
 * the login server. main.ts calls this with the environment's config; tests call
 * it in-process with a log destination of their own.
 */
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { DestinationStream } from 'pino'
import type { PeerConfig } from './contract/config.ts'
import { ConfigError } from './contract/errors.ts'
import { AccountsFile, Credentials } from './contract/accounts.ts'
import { createRng } from './contract/rng.ts'
import type { Role, SupernodeRef } from './contract/events.ts'
import { createEventLog, type EventLog } from './log.ts'
import { createNode, ownAddr } from './libp2p.ts'
import { Clock } from './clock.ts'
import { Stats } from './stats.ts'
import { HostCache, loadHostCache } from './host-cache.ts'
import { LoginServer } from './services/login-server.ts'
import { Peer } from './peer.ts'
import { IDENTITY_FILE, CREDENTIALS_FILE, HOST_CACHE_FILE, BOOTS_FILE } from './contract/state-files.ts'

export { IDENTITY_FILE, CREDENTIALS_FILE, HOST_CACHE_FILE, BOOTS_FILE }

async function atomicWrite (path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data)
  await rename(`${path}.tmp`, path)
}

async function readOptional (path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** The boot count survives restarts in the state directory: it is the incarnation. */
async function nextIncarnation (dir: string): Promise<number> {
  const raw = await readOptional(join(dir, BOOTS_FILE))
  const inc = (raw === null ? 0 : Number(raw.toString('utf8').trim())) + 1
  if (!Number.isSafeInteger(inc) || inc < 1) throw new Error(`corrupt ${BOOTS_FILE} in ${dir}`)
  await atomicWrite(join(dir, BOOTS_FILE), String(inc))
  return inc
}

async function loadIdentity (dir: string): Promise<PrivateKey> {
  const raw = await readOptional(join(dir, IDENTITY_FILE))
  if (raw !== null) return privateKeyFromProtobuf(raw)
  const key = await generateKeyPair('Ed25519')
  await atomicWrite(join(dir, IDENTITY_FILE), privateKeyToProtobuf(key))
  return key
}

function parseBootstrap (list: string[]): SupernodeRef[] {
  return list.map((item) => {
    const eq = item.indexOf('=')
    if (eq < 1) throw new ConfigError('PATCHDAY_BOOTSTRAP_ADDRS', item, 'expected name=multiaddr')
    const addr = item.slice(eq + 1)
    try {
      if (multiaddr(addr).getComponents().find(c => c.name === 'p2p') === undefined) throw new Error('no /p2p/ part')
    } catch (err) {
      throw new ConfigError('PATCHDAY_BOOTSTRAP_ADDRS', item, `bad multiaddr: ${(err as Error).message}`)
    }
    return { name: item.slice(0, eq), addr }
  })
}

function loginIssuer (loginAddr: string): ReturnType<typeof peerIdFromString>['publicKey'] {
  let id: string | undefined
  try {
    id = multiaddr(loginAddr).getComponents().find(c => c.name === 'p2p')?.value
  } catch (err) {
    throw new ConfigError('PATCHDAY_LOGIN_ADDR', loginAddr, `bad multiaddr: ${(err as Error).message}`)
  }
  if (id === undefined) throw new ConfigError('PATCHDAY_LOGIN_ADDR', loginAddr, 'needs a /p2p/<peer-id> part')
  const key = peerIdFromString(id).publicKey
  if (key === undefined) throw new ConfigError('PATCHDAY_LOGIN_ADDR', loginAddr, 'peer id carries no public key')
  return key
}

function cpuUsedUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

export interface Running {
  log: EventLog
  node: Libp2p
  addr: string
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

export async function startProcess (config: PeerConfig, logDest?: DestinationStream, crash?: (reason: string, replyMs: number) => void): Promise<Running> {
  await mkdir(config.stateDir, { recursive: true })
  // Validate everything before the first log line, so a bad setting exits 2 cleanly.
  const bootstrap = config.role === 'peer' ? parseBootstrap(config.bootstrapAddrs) : []
  const issuer = config.role === 'peer' ? loginIssuer(config.loginAddr) : undefined
  const inc = await nextIncarnation(config.stateDir)
  const initialRole: Role = config.role === 'login' ? 'login' : config.bootstrap ? 'supernode' : 'client'
  let roleOf = (): Role => initialRole
  const log = createEventLog({ run: config.runId, peer: config.peer, inc, level: config.logLevel }, () => roleOf(), logDest)
  const rng = createRng(`${config.seed}/${config.peer}/${inc}`)
  const clock = new Clock(config.timeScale)
  const stats = new Stats()
  const privateKey = await loadIdentity(config.stateDir)
  const nodeInit = { privateKey, listenIp: config.listenIp, announceIp: config.announceIp, port: config.port }
  const node = await createNode(nodeInit)
  const addr = ownAddr(node, nodeInit)

  if (config.role === 'login') {
    const accounts = AccountsFile.parse(JSON.parse(await readFile(config.accountsFile, 'utf8'))).accounts
    const server = new LoginServer({
      node,
      key: privateKey,
      accounts,
      clock,
      log,
      stats,
      init: { concurrencyMax: config.loginConcurrencyMax, queueMax: config.loginQueueMax, ratePerS: config.loginRatePerS, overflow: config.loginOverflow, serviceMs: config.loginServiceMs, ticketTtlMs: config.ticketTtlMs }
    })
    await server.start()
    const statsTimer = setInterval(() => { log.event('stats', stats.snapshot()) }, clock.real(config.statsIntervalMs))
    log.event('boot', { pid: process.pid, addr, capacityClass: config.capacityClass, bootstrap: false, hostCacheSize: 0, firstBoot: inc === 1, cpuUs: cpuUsedUs() })
    return { log, node, addr, login: server, stop: async () => { clearInterval(statsTimer); await server.stop(); await node.stop() } }
  }

  const credentials = Credentials.parse(JSON.parse((await readFile(join(config.stateDir, CREDENTIALS_FILE))).toString('utf8')))
  const cachePath = join(config.stateDir, HOST_CACHE_FILE)
  let cache: HostCache | null
  try {
    cache = await loadHostCache(cachePath, config.hostCacheMax)
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'host cache unreadable; starting from the bootstrap list')
    cache = null
  }
  const firstBoot = cache === null || cache.size === 0
  cache ??= new HostCache(config.hostCacheMax)
  if (firstBoot) for (const b of bootstrap) if (b.name !== config.peer) cache.learn(b.name, b.addr, null, clock.now())
  const peer = new Peer({ node, config, addr, issuer: issuer as NonNullable<typeof issuer>, cache, cachePath, clock, log, stats, rng, credentials, bootstrap: bootstrap.filter(b => b.name !== config.peer), crash: crash ?? crashProcess(log) })
  roleOf = () => peer.role
  await peer.start()
  log.event('boot', { pid: process.pid, addr, capacityClass: config.capacityClass, bootstrap: config.bootstrap, hostCacheSize: cache.size, firstBoot, cpuUs: cpuUsedUs() })
  return { log, node, addr, peer, stop: async () => { await peer.stop(); await node.stop() } }
}
