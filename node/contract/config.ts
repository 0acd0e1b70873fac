/**
 * Every setting of a patchday process, parsed from environment variables in this
 * one place. A bad value is refused with a ConfigError that names the variable;
 * nothing silently falls back to a default.
 *
 * Durations are in *emulated* milliseconds: the process multiplies them by
 * `timeScale` (real seconds per emulated second) before it waits. Rates are per
 * emulated second for the same reason.
 */
import { hostname, networkInterfaces } from 'node:os'
import { ConfigError } from './errors.ts'
import { RETRY_POLICIES } from './retry-policies.ts'
import { HOSTNAME_PLACEHOLDER, IPV4, ipv4Addresses, parseCidr, pickAnnounceIp, substituteHostname, type Interfaces } from './host.ts'

interface IntSpec { kind: 'int', env: string, def?: number, min: number, max: number }
interface FloatSpec { kind: 'float', env: string, def?: number, min: number, max: number }
interface BoolSpec { kind: 'bool', env: string, def?: boolean }
interface StrSpec { kind: 'string', env: string, def?: string, pattern?: RegExp }
interface EnumSpec<V extends string> { kind: 'enum', env: string, def?: V, values: readonly V[] }
interface ListSpec { kind: 'list', env: string, def?: string[] }
type Spec = IntSpec | FloatSpec | BoolSpec | StrSpec | EnumSpec<string> | ListSpec

const DAY_MS = 86_400_000
const int = (env: string, def: number | undefined, min: number, max: number): IntSpec => ({ kind: 'int', env, def, min, max })
const float = (env: string, def: number | undefined, min: number, max: number): FloatSpec => ({ kind: 'float', env, def, min, max })
const bool = (env: string, def?: boolean): BoolSpec => ({ kind: 'bool', env, def })
const str = (env: string, def?: string, pattern?: RegExp): StrSpec => ({ kind: 'string', env, def, pattern })
const oneOf = <V extends string>(env: string, values: readonly V[], def?: V): EnumSpec<V> => ({ kind: 'enum', env, def, values })
const list = (env: string, def?: string[]): ListSpec => ({ kind: 'list', env, def })
const ms = (env: string, def: number, min = 0): IntSpec => int(env, def, min, DAY_MS)

/** The schema. docs/config.md is generated from it by scripts/gen-config-doc.ts (a test checks it is current). */
export const CONFIG_SPEC = {
  // identity and wiring (no defaults: the runtime must say)
  runId: str('PATCHDAY_RUN_ID', undefined, /^[A-Za-z0-9._-]{1,64}$/),
  /** `{hostname}` in it is replaced by this machine's host name (sanitised to [A-Za-z0-9._-]) before the check. */
  peer: str('PATCHDAY_PEER', undefined, /^[A-Za-z0-9._-]{1,32}$/),
  role: oneOf('PATCHDAY_ROLE', ['peer', 'login'] as const),
  stateDir: str('PATCHDAY_STATE_DIR'),
  seed: str('PATCHDAY_SEED', undefined, /^[A-Za-z0-9._-]{1,64}$/),
  listenIp: str('PATCHDAY_LISTEN_IP', '127.0.0.1', new RegExp(`^${IPV4}$`)),
  /**
   * The IPv4 address others dial (differs from listenIp in containers, where peers listen on 0.0.0.0);
   * empty = listenIp; `auto` = the first non-internal IPv4 address of this machine, or with
   * labSubnet the first address inside it.
   */
  announceIp: str('PATCHDAY_ANNOUNCE_IP', '', new RegExp(`^(auto|${IPV4})?$`)),
  /** IPv4 CIDR (`10.20.0.0/16`) in which `announceIp=auto` looks for this machine's address (a container may have several). */
  labSubnet: str('PATCHDAY_LAB_SUBNET', '', /^([0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})?$/),
  port: int('PATCHDAY_PORT', 4001, 1, 65535),
  /** `/ip4/<ip>/tcp/<port>/p2p/<id>` or `/dns4/<host>/tcp/<port>/p2p/<id>`; with labSecret the `/p2p/` part may be left out. */
  loginAddr: str('PATCHDAY_LOGIN_ADDR', ''),
  /** Comma list of `name=multiaddr` (multiaddrs as loginAddr): the hard-coded bootstrap supernodes of a first boot. */
  bootstrapAddrs: list('PATCHDAY_BOOTSTRAP_ADDRS', []),
  /**
   * Lab only: the secret every identity, password and well-known peer id is derived from
   * (node/contract/lab-secret.ts); at least 16 characters. Whoever knows it can be anyone.
   */
  labSecret: str('PATCHDAY_LAB_SECRET', ''),
  /**
   * A JSON file `{ "<hostname>": { "PATCHDAY_X": "value" } }`: at start-up the entry of this
   * machine's host name is merged over the environment (read by node/main.ts before parsing).
   */
  envFile: str('PATCHDAY_ENV_FILE', ''),
  /** Fault settings to switch to once PATCHDAY_ARM_FILE exists: a JSON object of PATCHDAY_* variables (node/contract/armed.ts). */
  armed: str('PATCHDAY_ARMED', ''),
  /** The file whose existence arms PATCHDAY_ARMED (polled; a peer that boots after it was created starts armed). */
  armFile: str('PATCHDAY_ARM_FILE', ''),
  /**
   * Which key of the env file is this process's: `hostname` (os.hostname()), or `container-id`: the first
   * 12 characters of its container's id, read from /proc/self/mountinfo (containers on the host network
   * all have the host's hostname). Read by node/main.ts, and by docker/supervise.sh for its state file.
   */
  envKey: oneOf('PATCHDAY_ENV_KEY', ['hostname', 'container-id'] as const, 'hostname'),
  timeScale: float('PATCHDAY_TIME_SCALE', 1, 0.001, 100),
  logLevel: oneOf('PATCHDAY_LOG_LEVEL', ['debug', 'info', 'warn'] as const, 'info'),

  // the peer as a machine
  bootstrap: bool('PATCHDAY_BOOTSTRAP', false),
  capacityClass: int('PATCHDAY_CAPACITY_CLASS', 1, 0, 3),
  reachable: bool('PATCHDAY_REACHABLE', true),

  // client behaviour
  attachTimeoutMs: ms('PATCHDAY_ATTACH_TIMEOUT_MS', 5000, 1),
  /** Supernodes tried at once; each try holds a slot until it wins or is given back. */
  attachParallelMax: int('PATCHDAY_ATTACH_PARALLEL_MAX', 1, 1, 32),
  attachCandidatesMax: int('PATCHDAY_ATTACH_CANDIDATES_MAX', 8, 1, 200),
  /**
   * Supernodes a client avoids after failed logins at them or busy answers from them, tried last in its next rounds
   * (node/attach-rotation.ts): it goes through its host cache in turn. 0 = off (start from the best each round).
   */
  attachAvoidMax: int('PATCHDAY_ATTACH_AVOID_MAX', 0, 0, 200),
  loginTimeoutMs: ms('PATCHDAY_LOGIN_TIMEOUT_MS', 10_000, 1),
  retryPolicy: oneOf('PATCHDAY_RETRY_POLICY', RETRY_POLICIES, 'full-jitter'),
  retryBaseMs: ms('PATCHDAY_RETRY_BASE_MS', 1000),
  retryCapMs: ms('PATCHDAY_RETRY_CAP_MS', 60_000),
  /** Tries (rounds) per phase before the peer gives up for `giveUpPauseMs`; 0 = never gives up. */
  retryAttemptsMax: int('PATCHDAY_RETRY_ATTEMPTS_MAX', 8, 0, 1_000_000),
  /** Wait at least as long as a busy answer's retry hint (admission control, part of the tuned model). */
  retryHonorHint: bool('PATCHDAY_RETRY_HONOR_HINT', false),
  giveUpPauseMs: ms('PATCHDAY_GIVEUP_PAUSE_MS', 120_000),
  heartbeatIntervalMs: ms('PATCHDAY_HEARTBEAT_INTERVAL_MS', 10_000, 1),
  heartbeatTimeoutMs: ms('PATCHDAY_HEARTBEAT_TIMEOUT_MS', 5000, 1),
  heartbeatMissMax: int('PATCHDAY_HEARTBEAT_MISS_MAX', 3, 1, 100),
  hostCacheMax: int('PATCHDAY_HOST_CACHE_MAX', 200, 1, 10_000),
  /** How often the host cache is written to disk (and at shutdown); a power cut loses what changed since. */
  hostCacheSaveIntervalMs: ms('PATCHDAY_HOST_CACHE_SAVE_INTERVAL_MS', 60_000, 1),
  statsIntervalMs: ms('PATCHDAY_STATS_INTERVAL_MS', 10_000, 1),

  // supernode capacities (emulated: they must bind before the host does)
  slotsMax: int('PATCHDAY_SLOTS_MAX', 20, 1, 100_000),
  snRequestRatePerS: float('PATCHDAY_SN_REQUEST_RATE_PER_S', 50, 0.01, 1_000_000),
  snRequestBurst: int('PATCHDAY_SN_REQUEST_BURST', 50, 1, 1_000_000),
  /** An attach that is not followed by a register within this time frees its slot; 0 = never (slot leak). */
  pendingSlotDeadlineMs: ms('PATCHDAY_PENDING_SLOT_DEADLINE_MS', 15_000),
  clientTimeoutMs: ms('PATCHDAY_CLIENT_TIMEOUT_MS', 35_000, 1),
  snLinksMax: int('PATCHDAY_SN_LINKS_MAX', 4, 0, 64),
  snExchangeIntervalMs: ms('PATCHDAY_SN_EXCHANGE_INTERVAL_MS', 10_000, 1),
  snEntryTtlMs: ms('PATCHDAY_SN_ENTRY_TTL_MS', 60_000, 1),
  snAlternativesMax: int('PATCHDAY_SN_ALTERNATIVES_MAX', 8, 0, 64),
  /** The retry hint a full supernode gives (admission control; clients honour it with retryHonorHint). */
  snBusyRetryAfterMs: ms('PATCHDAY_SN_BUSY_RETRY_AFTER_MS', 5000),

  // election
  electIntervalMs: ms('PATCHDAY_ELECT_INTERVAL_MS', 2000, 1),
  electMinCapacityClass: int('PATCHDAY_ELECT_MIN_CAPACITY_CLASS', 2, 0, 3),
  electMinUptimeMs: ms('PATCHDAY_ELECT_MIN_UPTIME_MS', 10_000),
  electPromoteProb: float('PATCHDAY_ELECT_PROMOTE_PROB', 0.25, 0, 1),
  electLoadHigh: float('PATCHDAY_ELECT_LOAD_HIGH', 0.8, 0, 1),
  electLoadLow: float('PATCHDAY_ELECT_LOAD_LOW', 0.3, 0, 1),
  electBusyWindowMs: ms('PATCHDAY_ELECT_BUSY_WINDOW_MS', 10_000, 1),
  electDemoteIdleMs: ms('PATCHDAY_ELECT_DEMOTE_IDLE_MS', 60_000, 1),
  electDemoteProb: float('PATCHDAY_ELECT_DEMOTE_PROB', 0.1, 0, 1),
  electMinSupernodes: int('PATCHDAY_ELECT_MIN_SUPERNODES', 2, 0, 10_000),
  /** During a shortage, promote without waiting for `electMinUptimeMs` (demand-driven promotion, tuned). */
  electShortageBypassUptime: bool('PATCHDAY_ELECT_SHORTAGE_BYPASS_UPTIME', true),

  // 2010 fault models (off by default)
  /** 'Crashing version': the process exits when a reply takes longer than this (0 = off). */
  crashReplyThresholdMs: ms('PATCHDAY_CRASH_REPLY_THRESHOLD_MS', 0),
  /** Supernode self-protection: above this load (0..1 of slots plus budget rejections) it goes offline (0 = off). */
  snOverloadThreshold: float('PATCHDAY_SN_OVERLOAD_THRESHOLD', 0, 0, 100),

  // login server capacities (emulated)
  /** The accounts (salted hashes); empty with labSecret set = every account derived from the secret. */
  accountsFile: str('PATCHDAY_ACCOUNTS_FILE', ''),
  loginConcurrencyMax: int('PATCHDAY_LOGIN_CONCURRENCY_MAX', 4, 1, 10_000),
  loginQueueMax: int('PATCHDAY_LOGIN_QUEUE_MAX', 32, 0, 100_000),
  loginRatePerS: float('PATCHDAY_LOGIN_RATE_PER_S', 10, 0.01, 100_000),
  loginOverflow: oneOf('PATCHDAY_LOGIN_OVERFLOW', ['busy', 'timeout'] as const, 'busy'),
  loginServiceMs: ms('PATCHDAY_LOGIN_SERVICE_MS', 50),
  ticketTtlMs: ms('PATCHDAY_TICKET_TTL_MS', 3_600_000, 1),

  // transport protections (node/transport-guard.ts): they protect the host, far above
  // what a legitimate network of hundreds of peers needs, and never emulate a capacity.
  // `...RealMs` are real milliseconds (handshakes cost real CPU time, whatever the time scale).
  /** Open connections at most (inbound ones beyond it are refused before the handshake); a bound on file descriptors. */
  connsMax: int('PATCHDAY_CONNS_MAX', 4096, 16, 65_536),
  /** Connections one peer id may hold (checked after Noise); a session needs one, two supernodes dialling each other two. 0 = no limit. */
  connsPerPeerMax: int('PATCHDAY_CONNS_PER_PEER_MAX', 8, 0, 65_536),
  /** Inbound connections per source IP; every patchday peer has its own address. 0 = no limit. */
  connsPerIpMax: int('PATCHDAY_CONNS_PER_IP_MAX', 64, 0, 65_536),
  /** Inbound handshakes in progress at most; above the login queue, so the queue decides a flood. */
  handshakesMax: int('PATCHDAY_HANDSHAKES_MAX', 512, 1, 65_536),
  /** Inbound handshakes in progress per source IP (a peer dials one at a time): a silent-socket flood from one host holds this many. 0 = no limit. */
  handshakesPerIpMax: int('PATCHDAY_HANDSHAKES_PER_IP_MAX', 32, 0, 65_536),
  /** An inbound connection must finish Noise and yamux within this (real ms); a client gives up sooner (loginTimeoutMs, attachTimeoutMs) and closes its socket. */
  handshakeTimeoutRealMs: int('PATCHDAY_HANDSHAKE_TIMEOUT_REAL_MS', 20_000, 100, 600_000),
  /**
   * A connection with no open stream and no exchange for this long is closed; 0 = never.
   * At least attachTimeoutMs + loginTimeoutMs (a client holds its attach while it logs in)
   * and twice heartbeatIntervalMs and snExchangeIntervalMs.
   */
  connIdleTimeoutMs: ms('PATCHDAY_CONN_IDLE_TIMEOUT_MS', 120_000),
  /** An answered stream the remote has not closed within this (real ms) is reset; 0 = never. */
  streamLingerRealMs: int('PATCHDAY_STREAM_LINGER_REAL_MS', 10_000, 0, 600_000),
  /**
   * Offences a peer may commit per misbehaviourWindowRealMs before it is banned: a malformed or oversized
   * frame, or bytes after an answer, which no patchday peer sends (one may, when its process dies mid-write).
   * 0 = never ban.
   */
  misbehaviourMax: int('PATCHDAY_MISBEHAVIOUR_MAX', 20, 0, 1_000_000),
  misbehaviourWindowRealMs: int('PATCHDAY_MISBEHAVIOUR_WINDOW_REAL_MS', 10_000, 100, 3_600_000),
  /**
   * Requests a peer may have refused by its own request budget (a supernode's snPeerRequest*, the login server's
   * loginPeerRatePerS and loginPeerBurst) per misbehaviourWindowRealMs; each one more is an offence towards a ban (misbehaviourMax). A client
   * waits between tries, so its own budget seldom refuses it; a peer that asks whatever it is told does not (attack 7:
   * 3,500 busy answers a second from one connection, at 88% of the supernode's CPU). 0 = never an offence.
   */
  overBudgetRefusalsMax: int('PATCHDAY_OVER_BUDGET_REFUSALS_MAX', 100, 0, 1_000_000),
  /** A banned peer's connections are closed, and its peer id and source IP refused for this long (real ms; the IP before any cryptography). */
  banRealMs: int('PATCHDAY_BAN_REAL_MS', 60_000, 1, 86_400_000),
  /**
   * Inbound handshakes a second (real time) from sources not vouched for, after a burst of newcomerHandshakesBurst;
   * past it they wait their turn (newcomerHandshakesQueueMax), or, without places (newcomerHandshakesInFlightMax 0),
   * their sockets are refused before any cryptography. The burst is small because a burst of 200 let attack 6's
   * first second of handshakes run back to back, and the queue now absorbs legitimate bursts. A source is vouched for for an hour once it presents
   * a ticket that verifies, logs in, or is dialled by this node, and is then never counted: fresh identities from
   * fresh addresses cost a Noise handshake each, and this bounds what a flood of them costs. A network's newcomers
   * arrive far slower (a boot of 200 peers: under 5 a second). 0 = no limit.
   */
  newcomerHandshakesPerRealS: int('PATCHDAY_NEWCOMER_HANDSHAKES_PER_REAL_S', 50, 0, 1_000_000),
  newcomerHandshakesBurst: int('PATCHDAY_NEWCOMER_HANDSHAKES_BURST', 20, 1, 1_000_000),
  /**
   * Inbound handshakes from sources not vouched for in progress at once; a newcomer that finds every place taken,
   * or no token, waits its turn (newcomerHandshakesQueueMax). A burst of newcomers is then served a few at a time, so that a
   * client's request does not wait behind a whole burst of Noise handshakes (attack 6 of the bench: its p99 was set
   * by the burst). A source holds one place or one turn at most. 0 = no limit (and no queue).
   */
  newcomerHandshakesInFlightMax: int('PATCHDAY_NEWCOMER_HANDSHAKES_IN_FLIGHT_MAX', 4, 0, 1024),
  /** Newcomers waiting for a place and a token at most (first come first); past it a newcomer's socket is refused before any cryptography. */
  newcomerHandshakesQueueMax: int('PATCHDAY_NEWCOMER_HANDSHAKES_QUEUE_MAX', 64, 0, 10_000),
  /**
   * A newcomer's handshake holds its place until it ends or for this long at most, and a newcomer waits for a place
   * this long at most (real ms): a Noise handshake takes milliseconds, and sockets that never start one must not keep
   * every newcomer out.
   */
  newcomerHandshakeHoldRealMs: int('PATCHDAY_NEWCOMER_HANDSHAKE_HOLD_REAL_MS', 1000, 1, 60_000),
  /** Streams per connection and direction at the muxer, negotiated or not (patchday's protocols allow 18 inbound). */
  streamsPerConnMax: int('PATCHDAY_STREAMS_PER_CONN_MAX', 32, 4, 1024),
  /** Distinct peer ids the `stats` counters remember (peersContacted saturates there). */
  peersContactedMax: int('PATCHDAY_PEERS_CONTACTED_MAX', 10_000, 1, 1_000_000),
  /** How often refusals are logged: one `conn.limited` event per reason with a count, never one per socket. */
  guardLogIntervalMs: ms('PATCHDAY_GUARD_LOG_INTERVAL_MS', 10_000, 1),
  // hardening: one hostile or broken peer cannot take a supernode or the login server down (docs/model.md)
  /** Lines per event name and interval of the events bad input produces (msg.invalid, sn.rejected, ...); the rest are counted in log.suppressed. 0 = no limit. */
  logRepeatMax: int('PATCHDAY_LOG_REPEAT_MAX', 50, 0, 1_000_000),
  logRepeatIntervalMs: ms('PATCHDAY_LOG_REPEAT_INTERVAL_MS', 10_000, 1),
  /** A busy answer's retry hint is clamped to this before a client waits on it (a hint is the server's word, not a command). */
  retryHintMaxMs: ms('PATCHDAY_RETRY_HINT_MAX_MS', 60_000),
  /** Each peer's own request budget at a supernode, spent before the shared one (a client needs about one request per heartbeat interval). */
  snPeerRequestRatePerS: float('PATCHDAY_SN_PEER_REQUEST_RATE_PER_S', 5, 0.01, 1_000_000),
  snPeerRequestBurst: int('PATCHDAY_SN_PEER_REQUEST_BURST', 10, 1, 1_000_000),
  /**
   * `optional`: attach without a ticket takes an unproven pending slot (the 2007 flow: attach, then log in;
   * slot-leak needs it); with a valid ticket the slot is proven at once. `required`: no slot without a ticket,
   * and clients log in before they attach.
   */
  snAttachTicket: oneOf('PATCHDAY_SN_ATTACH_TICKET', ['optional', 'required'] as const, 'optional'),
  /** Supernode-list entries one source (a supernode's answer, an exchange partner) may add to a host cache. */
  hostCacheSourceMax: int('PATCHDAY_HOST_CACHE_SOURCE_MAX', 16, 1, 10_000),
  /** Failed tries after which an entry learnt only by hearsay (never reached by this peer) is dropped. */
  hostCacheGossipFailMax: int('PATCHDAY_HOST_CACHE_GOSSIP_FAIL_MAX', 2, 1, 1000),
  /** Logins one peer may have in flight (queued or in service) at the login server; more are answered busy at once. */
  loginPeerConcurrencyMax: int('PATCHDAY_LOGIN_PEER_CONCURRENCY_MAX', 2, 1, 10_000),
  /**
   * Login requests one peer may send per emulated second after a burst (a token bucket per peer id, refused
   * requests count), checked first: a client logs in once per session and retries no faster than its pause or
   * backoff (1 s at least in the shipped models), so only a peer looping on logins meets it; past it, busy with
   * a retry hint, and the shared rate limit that every other login waits on is not spent.
   */
  loginPeerRatePerS: float('PATCHDAY_LOGIN_PEER_RATE_PER_S', 2, 0.0001, 1_000_000),
  loginPeerBurst: int('PATCHDAY_LOGIN_PEER_BURST', 5, 1, 1_000_000),
  /** Peer ids whose login budget is remembered at most (the least recently seen is forgotten: it starts again with a full bucket). */
  loginPeersTrackedMax: int('PATCHDAY_LOGIN_PEERS_TRACKED_MAX', 10_000, 1, 10_000_000),
  /** Wrong passwords per account: a token bucket (burst, then a rate); an account out of tokens is answered busy without a password check. */
  loginFailBurst: int('PATCHDAY_LOGIN_FAIL_BURST', 5, 1, 1_000_000),
  loginFailRatePerS: float('PATCHDAY_LOGIN_FAIL_RATE_PER_S', 0.1, 0.0001, 1_000_000),
  /** Accounts whose wrong passwords are remembered at most (the oldest is forgotten first): a bound on the throttle's memory. */
  loginFailAccountsMax: int('PATCHDAY_LOGIN_FAIL_ACCOUNTS_MAX', 10_000, 1, 10_000_000)
} as const satisfies Record<string, Spec>

type ValueOf<S> = S extends IntSpec | FloatSpec ? number
  : S extends BoolSpec ? boolean
    : S extends EnumSpec<infer V> ? V
      : S extends ListSpec ? string[]
        : string

type Spec_ = typeof CONFIG_SPEC
export type PeerConfig = { -readonly [K in keyof Spec_]: ValueOf<Spec_[K]> }
export type ConfigKey = keyof PeerConfig

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

function parseOne (spec: Spec, raw: string): unknown {
  const bad = (why: string): never => { throw new ConfigError(spec.env, raw, why) }
  switch (spec.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) bad('expected a whole number')
      const n = Number(raw)
      if (n < spec.min || n > spec.max) bad(`expected ${spec.min}..${spec.max}`)
      return n
    }
    case 'float': {
      if (!/^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(raw)) bad('expected a decimal number')
      const n = Number(raw)
      if (!Number.isFinite(n)) bad('expected a number')
      if (n < spec.min || n > spec.max) bad(`expected ${spec.min}..${spec.max}`)
      return n
    }
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (TRUE.has(v)) return true
      if (FALSE.has(v)) return false
      return bad('expected true or false')
    }
    case 'enum':
      if (!spec.values.includes(raw)) bad(`expected one of ${spec.values.join(', ')}`)
      return raw
    case 'list':
      return raw.split(',').map(s => s.trim()).filter(s => s.length > 0)
    case 'string':
      if (spec.def === undefined && raw.trim() === '') bad('must not be empty')
      if (spec.pattern !== undefined && !spec.pattern.test(raw)) bad(`does not match ${String(spec.pattern)}`)
      return raw
  }
}

/** A lab secret shorter than this is refused. */
export const LAB_SECRET_MIN_CHARS = 16

/** What parseConfig asks of the machine it runs on (injectable for tests). */
export interface HostFacts {
  hostname: () => string
  interfaces: () => Interfaces
}

export const OS_HOST: HostFacts = { hostname, interfaces: networkInterfaces }

/**
 * Parse the environment into a complete config; throws ConfigError naming the first bad variable.
 * `host` is consulted only for `{hostname}` in PATCHDAY_PEER and for PATCHDAY_ANNOUNCE_IP=auto.
 */
export function parseConfig (env: Record<string, string | undefined>, host: HostFacts = OS_HOST): PeerConfig {
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as Array<[string, Spec]>) {
    let raw = env[spec.env]
    if (key === 'peer' && raw?.includes(HOSTNAME_PLACEHOLDER) === true) raw = substituteHostname(raw, host.hostname())
    if (raw === undefined) {
      if (spec.def === undefined) throw new ConfigError(spec.env, undefined, 'is required')
      // A copy: a list default must not be shared between configs.
      out[key] = Array.isArray(spec.def) ? [...spec.def] : spec.def
    } else {
      out[key] = parseOne(spec, raw)
    }
  }
  const config = out as PeerConfig
  // The secret's value never goes into a message.
  if (config.labSecret !== '' && config.labSecret.length < LAB_SECRET_MIN_CHARS) throw new ConfigError('PATCHDAY_LAB_SECRET', undefined, `must have at least ${LAB_SECRET_MIN_CHARS} characters (has ${config.labSecret.length})`)
  const subnet = config.labSubnet === '' ? null : parseCidr(config.labSubnet)
  if (subnet === undefined) throw new ConfigError('PATCHDAY_LAB_SUBNET', config.labSubnet, 'expected an IPv4 CIDR such as 10.20.0.0/16')
  if (config.announceIp === 'auto') {
    const interfaces = host.interfaces()
    const ip = pickAnnounceIp(interfaces, subnet)
    if (ip === undefined) {
      const have = ipv4Addresses(interfaces)
      throw new ConfigError('PATCHDAY_ANNOUNCE_IP', 'auto', subnet !== null
        ? `this machine has no IPv4 address inside PATCHDAY_LAB_SUBNET=${config.labSubnet} (it has: ${have.length > 0 ? have.join(', ') : 'none'})`
        : 'this machine has no non-internal IPv4 address')
    }
    config.announceIp = ip
  }
  if (config.role === 'peer' && config.loginAddr === '') throw new ConfigError('PATCHDAY_LOGIN_ADDR', '', 'is required for role peer')
  if (config.role === 'login' && config.accountsFile === '' && config.labSecret === '') throw new ConfigError('PATCHDAY_ACCOUNTS_FILE', '', 'is required for role login (or PATCHDAY_LAB_SECRET, for derived accounts)')
  checkSettingsAgree(config)
  return config
}

/**
 * The checks between settings (not wiring): throws ConfigError naming the first variable that
 * disagrees with another. parseConfig runs it; so does arming (node/contract/armed.ts), on the
 * settings a peer will switch to.
 */
export function checkSettingsAgree (config: PeerConfig): void {
  if (config.retryBaseMs > config.retryCapMs) throw new ConfigError('PATCHDAY_RETRY_BASE_MS', String(config.retryBaseMs), 'must not exceed PATCHDAY_RETRY_CAP_MS')
  if (config.electLoadLow > config.electLoadHigh) throw new ConfigError('PATCHDAY_ELECT_LOAD_LOW', String(config.electLoadLow), 'must not exceed PATCHDAY_ELECT_LOAD_HIGH')
  const idleMin = connIdleMinMs(config)
  if (config.connIdleTimeoutMs > 0 && config.connIdleTimeoutMs < idleMin) {
    throw new ConfigError('PATCHDAY_CONN_IDLE_TIMEOUT_MS', String(config.connIdleTimeoutMs), `must be 0 or at least ${idleMin} (PATCHDAY_ATTACH_TIMEOUT_MS + PATCHDAY_LOGIN_TIMEOUT_MS, and twice PATCHDAY_HEARTBEAT_INTERVAL_MS and PATCHDAY_SN_EXCHANGE_INTERVAL_MS)`)
  }
}

/**
 * The shortest idle timeout that never closes a connection a legitimate peer
 * still uses: a client holds its attach while it logs in; heartbeats and
 * supernode exchanges come every interval (twice, for a late one).
 */
export function connIdleMinMs (c: Pick<PeerConfig, 'attachTimeoutMs' | 'loginTimeoutMs' | 'heartbeatIntervalMs' | 'snExchangeIntervalMs'>): number {
  return Math.max(c.attachTimeoutMs + c.loginTimeoutMs, 2 * c.heartbeatIntervalMs, 2 * c.snExchangeIntervalMs)
}

/** Parse one setting by its key (`slotsMax`) or env name (`PATCHDAY_SLOTS_MAX`), e.g. for `--set key=value`. */
export function parseSetting (keyOrEnv: string, raw: string): [ConfigKey, PeerConfig[ConfigKey]] {
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as Array<[ConfigKey, Spec]>) {
    if (key === keyOrEnv || spec.env === keyOrEnv) return [key, parseOne(spec, raw) as PeerConfig[ConfigKey]]
  }
  throw new ConfigError(keyOrEnv, raw, 'is not a setting (see docs/config.md)')
}

/** The inverse: environment variables for the settings given (the orchestrator's side). */
export function configToEnv (config: Partial<PeerConfig>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(config)) {
    const spec = (CONFIG_SPEC as Record<string, Spec>)[key]
    if (spec === undefined) throw new ConfigError(key, String(value), 'is not a setting')
    if (value === undefined) continue
    env[spec.env] = Array.isArray(value) ? value.join(',') : String(value)
  }
  return env
}

/** A setting's default (for settings that have one). */
export function defaultSetting<K extends ConfigKey> (key: K): PeerConfig[K] {
  const def = (CONFIG_SPEC[key] as Spec).def
  if (def === undefined) throw new ConfigError(CONFIG_SPEC[key].env, undefined, 'has no default')
  return def as PeerConfig[K]
}

/** The env name of a setting (for error messages that should name what the user can change). */
export function envName (key: ConfigKey): string {
  return CONFIG_SPEC[key].env
}

/** Documentation rows: [key, env, default, range]. */
export function configRows (): Array<[string, string, string, string]> {
  return (Object.entries(CONFIG_SPEC) as Array<[string, Spec]>).map(([key, s]) => {
    const def = s.def === undefined ? '(required)' : Array.isArray(s.def) ? s.def.join(',') : String(s.def)
    const range = s.kind === 'int' || s.kind === 'float' ? `${s.min}..${s.max}` : s.kind === 'enum' ? s.values.join(' \\| ') : s.kind
    return [key, s.env, def, range]
  })
}
