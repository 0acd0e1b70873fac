/**
 * In-process network harness for integration tests: several real libp2p nodes
 * (login server, supernodes, clients) started with startProcess() inside the
 * test process, each bound to its own loopback address, each logging its pino
 * lines into one in-memory event list that tests wait on.
 *
 * Addresses: every node of a net gets 127.3.<subnet>.<n>, n = its position in
 * `names` + 1, on one fixed port. Give every test file (and every net inside a
 * file) its own subnet so that files can run one after another, or side by
 * side, without port clashes. Taken: 1 login, 2 busy-supernode, 3 promotion,
 * 4 reattach, 5 bad-input, 6 login-capacity, 7-9 fault-models, 12 login-conn-reuse.
 *
 * Identities of every declared node are generated up front, so that the login
 * server's and the bootstrap supernodes' multiaddrs go into the configs of the
 * others before anything starts.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { parseConfig } from '../../node/contract/config.ts'
import { hashPassword, type AccountsFile, type Credentials } from '../../node/contract/accounts.ts'
import { parseEventLine, type EventName, type EventPayloads, type PeerEvent } from '../../node/contract/events.ts'
import { startProcess, CREDENTIALS_FILE, IDENTITY_FILE, type Running } from '../../node/start.ts'
import { createNode } from '../../node/libp2p.ts'

/** Real ms the harness allows one node to stop before it calls the stop hung. */
const STOP_TIMEOUT_MS = 10_000
/** Events listed in a waitFor timeout message. */
const TIMEOUT_EVENTS_SHOWN = 40
export const PORT = 4001

/**
 * Emulated settings that make a small network converge in seconds at
 * TIME_SCALE (real ms = emulated ms * TIME_SCALE), with every emulated capacity
 * (login rate, supernode request budget, slots) far from binding. Tests that
 * want a limit to bind override it.
 */
export const TIME_SCALE = 0.1
export const FAST_ENV: Readonly<Record<string, string>> = {
  PATCHDAY_TIME_SCALE: String(TIME_SCALE),
  PATCHDAY_LOG_LEVEL: 'info',
  // Timeouts only decide failure paths: generous, because a loaded 2-core host slows handshakes a lot.
  PATCHDAY_ATTACH_TIMEOUT_MS: '50000',
  PATCHDAY_LOGIN_TIMEOUT_MS: '50000',
  PATCHDAY_RETRY_POLICY: 'full-jitter',
  PATCHDAY_RETRY_BASE_MS: '1000',
  PATCHDAY_RETRY_CAP_MS: '5000',
  PATCHDAY_RETRY_ATTEMPTS_MAX: '0',
  PATCHDAY_HEARTBEAT_INTERVAL_MS: '2000',
  PATCHDAY_HEARTBEAT_TIMEOUT_MS: '20000',
  PATCHDAY_HEARTBEAT_MISS_MAX: '3',
  PATCHDAY_STATS_INTERVAL_MS: '600000',
  PATCHDAY_SLOTS_MAX: '50',
  PATCHDAY_SN_REQUEST_RATE_PER_S: '10000',
  PATCHDAY_SN_REQUEST_BURST: '10000',
  PATCHDAY_PENDING_SLOT_DEADLINE_MS: '100000',
  PATCHDAY_CLIENT_TIMEOUT_MS: '100000',
  PATCHDAY_SN_EXCHANGE_INTERVAL_MS: '3000',
  PATCHDAY_SN_ENTRY_TTL_MS: '60000',
  PATCHDAY_ELECT_INTERVAL_MS: '3000',
  // Clients are capacity class 1 by default: below this, so nobody promotes unless a test says so.
  PATCHDAY_ELECT_MIN_CAPACITY_CLASS: '2',
  PATCHDAY_ELECT_DEMOTE_IDLE_MS: '6000000',
  PATCHDAY_LOGIN_CONCURRENCY_MAX: '16',
  PATCHDAY_LOGIN_QUEUE_MAX: '64',
  PATCHDAY_LOGIN_RATE_PER_S: '10000',
  PATCHDAY_LOGIN_SERVICE_MS: '50'
}

export interface NetOptions {
  /** Third octet of the net's loopback addresses (1..254); unique per net. */
  subnet: number
  /** Every node the test may start (login server, supernodes, clients, raw nodes). */
  names: string[]
  /** The bootstrap supernodes among `names`. */
  bootstrap?: string[]
  /** Name of the login server among `names` (default 'login'). */
  login?: string
  /** Settings for every node, over FAST_ENV. */
  env?: Record<string, string>
}

export interface PeerOptions {
  /** Bootstrap supernodes this peer is configured with (default: all of the net's). */
  knows?: string[]
  /** Settings for this node, over the net's. */
  env?: Record<string, string>
  /** What the peer logs in with (default: its own account). */
  credentials?: Credentials
}

/** A declared node: where it listens and who it is, known before it starts. */
export interface NodeSlot {
  name: string
  ip: string
  port: number
  stateDir: string
  key: PrivateKey
  peerId: string
  addr: string
}

export type Predicate = (e: PeerEvent) => boolean

/** A type-guarding predicate: event `ev` (of `peer`, when given) whose fields equal `fields`. */
export function is<E extends EventName> (ev: E, fields: Partial<EventPayloads[E]> & { peer?: string } = {}): (e: PeerEvent) => e is PeerEvent<E> {
  return (e: PeerEvent): e is PeerEvent<E> => {
    if (e.ev !== ev) return false
    const rec = e as unknown as Record<string, unknown>
    for (const [k, v] of Object.entries(fields)) if (rec[k] !== v) return false
    return true
  }
}

/** One line per event for failure messages: time offset, peer, event, fields. */
export function describe (events: readonly PeerEvent[], t0: number): string {
  return events.map((e) => {
    const { time, run, peer, inc, role, ev, msg, level, pid, hostname, ...rest } = e as unknown as Record<string, unknown>
    void run; void inc; void msg; void level; void pid; void hostname
    return `  +${Number(time) - t0}ms ${String(peer)}(${String(role)}) ${String(ev)} ${JSON.stringify(rest)}`
  }).join('\n')
}

interface Waiter { pred: Predicate, resolve: (e: PeerEvent) => void }

export class InprocNet {
  readonly root: string
  readonly events: PeerEvent[] = []
  /** Warnings (pino lines without `ev`): shown when a wait times out. */
  readonly warnings: string[] = []
  /** Nodes that crashed (the 'crashing version' fault model). */
  readonly crashed = new Set<string>()
  private readonly opts: NetOptions
  private readonly slots = new Map<string, NodeSlot>()
  private readonly running = new Map<string, Running>()
  private readonly rawNodes: Libp2p[] = []
  private readonly waiters = new Set<Waiter>()
  private readonly t0 = Date.now()

  private constructor (opts: NetOptions, root: string) {
    this.opts = opts
    this.root = root
  }

  /** Make the state root, identities, accounts and credentials for every declared node. */
  static async create (opts: NetOptions): Promise<InprocNet> {
    if (!Number.isInteger(opts.subnet) || opts.subnet < 1 || opts.subnet > 254) throw new RangeError(`subnet ${opts.subnet} is not 1..254`)
    if (opts.names.length > 253) throw new RangeError('at most 253 nodes per net')
    const net = new InprocNet(opts, await mkdtemp(join(tmpdir(), `patchday-it-${opts.subnet}-`)))
    const accounts: AccountsFile['accounts'] = {}
    for (const [i, name] of opts.names.entries()) {
      const stateDir = join(net.root, name)
      await mkdir(stateDir, { recursive: true })
      const key = await generateKeyPair('Ed25519')
      await writeFile(join(stateDir, IDENTITY_FILE), privateKeyToProtobuf(key))
      const ip = `127.3.${opts.subnet}.${i + 1}`
      const peerId = peerIdFromPrivateKey(key).toString()
      net.slots.set(name, { name, ip, port: PORT, stateDir, key, peerId, addr: `/ip4/${ip}/tcp/${PORT}/p2p/${peerId}` })
      accounts[name] = hashPassword(InprocNet.password(name))
      await writeFile(join(stateDir, CREDENTIALS_FILE), JSON.stringify({ account: name, password: InprocNet.password(name) }))
    }
    await writeFile(net.accountsFile, JSON.stringify({ version: 1, accounts } satisfies AccountsFile))
    return net
  }

  static password (name: string): string { return `pw-${name}` }

  get accountsFile (): string { return join(this.root, 'accounts.json') }
  get loginName (): string { return this.opts.login ?? 'login' }

  slot (name: string): NodeSlot {
    const s = this.slots.get(name)
    if (s === undefined) throw new RangeError(`${name} is not a node of this net`)
    return s
  }

  node (name: string): Running {
    const r = this.running.get(name)
    if (r === undefined) throw new RangeError(`${name} is not running`)
    return r
  }

  private baseEnv (name: string): Record<string, string> {
    const s = this.slot(name)
    return {
      ...FAST_ENV,
      PATCHDAY_RUN_ID: `it-${this.opts.subnet}`,
      PATCHDAY_SEED: `seed-${this.opts.subnet}`,
      PATCHDAY_PEER: name,
      PATCHDAY_STATE_DIR: s.stateDir,
      PATCHDAY_LISTEN_IP: s.ip,
      PATCHDAY_PORT: String(s.port),
      ...this.opts.env
    }
  }

  /** A log destination for one node: every contract event into `events`. */
  private destination (): { write: (line: string) => void } {
    return {
      write: (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (line === '') continue
          const e = parseEventLine(line)
          if (e === undefined) this.warnings.push(line)
          else this.push(e)
        }
      }
    }
  }

  private push (e: PeerEvent): void {
    this.events.push(e)
    for (const w of this.waiters) {
      if (w.pred(e)) {
        this.waiters.delete(w)
        w.resolve(e)
      }
    }
  }

  private async launch (name: string, env: Record<string, string>): Promise<Running> {
    if (this.running.has(name)) throw new Error(`${name} is already running`)
    // The crashing version (2010 model) must not exit the test process: its crash stops the node instead.
    const r = await startProcess(parseConfig(env), this.destination(), () => {
      this.crashed.add(name)
      void this.stop(name)
    })
    this.running.set(name, r)
    return r
  }

  async startLogin (env: Record<string, string> = {}): Promise<Running> {
    const name = this.loginName
    return await this.launch(name, { ...this.baseEnv(name), PATCHDAY_ROLE: 'login', PATCHDAY_ACCOUNTS_FILE: this.accountsFile, ...env })
  }

  async startPeer (name: string, o: PeerOptions = {}): Promise<Running> {
    const knows = o.knows ?? this.opts.bootstrap ?? []
    if (o.credentials !== undefined) await writeFile(join(this.slot(name).stateDir, CREDENTIALS_FILE), JSON.stringify(o.credentials))
    return await this.launch(name, {
      ...this.baseEnv(name),
      PATCHDAY_ROLE: 'peer',
      PATCHDAY_LOGIN_ADDR: this.slot(this.loginName).addr,
      PATCHDAY_BOOTSTRAP_ADDRS: knows.map(n => `${n}=${this.slot(n).addr}`).join(','),
      PATCHDAY_BOOTSTRAP: String((this.opts.bootstrap ?? []).includes(name)),
      ...o.env
    })
  }

  /** Start several peers at once. */
  async startPeers (names: string[], o: PeerOptions = {}): Promise<Running[]> {
    return await Promise.all(names.map(async n => await this.startPeer(n, o)))
  }

  /** A bare libp2p node with a declared node's identity and address (for raw protocol tests). */
  async rawNode (name: string): Promise<Libp2p> {
    const s = this.slot(name)
    const node = await createNode({ privateKey: s.key, listenIp: s.ip, port: s.port })
    this.rawNodes.push(node)
    return node
  }

  async stop (name: string): Promise<void> {
    const r = this.node(name)
    this.running.delete(name)
    await withTimeout(r.stop(), STOP_TIMEOUT_MS, `stopping ${name}`)
  }

  /** Stop every node (for an `after` hook), then remove the state root. With IT_DUMP set, print the net's events first. */
  async stopAll (): Promise<void> {
    if (process.env.IT_DUMP !== undefined) {
      process.stderr.write(`--- net 127.3.${this.opts.subnet}.0: events\n${this.describe()}\n--- warnings\n${this.warnings.join('\n')}\n`)
    }
    const names = [...this.running.keys()]
    const results = await Promise.allSettled([
      ...names.map(async n => await this.stop(n)),
      ...this.rawNodes.splice(0).map(async n => { await withTimeout(Promise.resolve(n.stop()), STOP_TIMEOUT_MS, 'stopping a raw node') })
    ])
    for (const w of this.waiters) this.waiters.delete(w)
    await rm(this.root, { recursive: true, force: true })
    const failed = results.filter(r => r.status === 'rejected')
    if (failed.length > 0) throw new AggregateError(failed.map(f => f.reason as unknown), `${failed.length} node(s) did not stop cleanly`)
  }

  /** A position in the event list: pass it to `since` to match only later events. */
  mark (): number { return this.events.length }

  /** `pred`, restricted to events logged at or after `mark`. */
  since<T extends PeerEvent> (mark: number, pred: (e: PeerEvent) => e is T): (e: PeerEvent) => e is T {
    return (e: PeerEvent): e is T => pred(e) && this.events.lastIndexOf(e) >= mark
  }

  /** Events matching a predicate so far. */
  find<T extends PeerEvent> (pred: (e: PeerEvent) => e is T): T[] {
    return this.events.filter(pred)
  }

  /**
   * The first event (already logged or future) that matches; rejects after
   * `timeoutMs` real ms with the last events in the message.
   */
  async waitFor<T extends PeerEvent> (pred: (e: PeerEvent) => e is T, timeoutMs: number, what?: string): Promise<T>
  async waitFor (pred: Predicate, timeoutMs: number, what?: string): Promise<PeerEvent>
  async waitFor (pred: Predicate, timeoutMs: number, what = 'an event'): Promise<PeerEvent> {
    const found = this.events.find(pred)
    if (found !== undefined) return found
    let timer: NodeJS.Timeout | undefined
    let waiter: Waiter | undefined
    try {
      return await new Promise<PeerEvent>((resolve, reject) => {
        waiter = { pred, resolve }
        this.waiters.add(waiter)
        timer = setTimeout(() => {
          reject(new WaitTimeoutError(`no ${what} within ${timeoutMs} ms; last events:\n${describe(this.events.slice(-TIMEOUT_EVENTS_SHOWN), this.t0)}` +
            (this.warnings.length > 0 ? `\nwarnings:\n  ${this.warnings.slice(-10).join('\n  ')}` : '')))
        }, timeoutMs)
      })
    } finally {
      clearTimeout(timer)
      if (waiter !== undefined) this.waiters.delete(waiter)
    }
  }

  /** Wait for one matching event per peer named. */
  async waitForEach<E extends EventName> (peers: string[], ev: E, fields: Partial<EventPayloads[E]>, timeoutMs: number): Promise<Array<PeerEvent<E>>> {
    return await Promise.all(peers.map(async peer => await this.waitFor(is(ev, { ...fields, peer }), timeoutMs, `${ev} ${JSON.stringify(fields)} from ${peer}`)))
  }

  /** All events, formatted (for assertion messages). */
  describe (pred: Predicate = () => true): string {
    return describe(this.events.filter(pred), this.t0)
  }
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new WaitTimeoutError(`${what} took longer than ${ms} ms`)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
