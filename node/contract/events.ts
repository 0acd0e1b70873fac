/**
 * The event contract: every log line that the orchestrator's analysis reads.
 *
 * Peers log pino JSON lines. Every line carries the bindings below plus `ev`, the
 * event name; the payload fields per event are listed in `EventPayloads`. The
 * human-readable `msg` is for people and is never parsed. docs/events.md
 * documents the same contract in prose; test/unit/events-doc.test.ts checks that
 * the two agree.
 */

/** Roles a process can have. A peer switches between client and supernode at runtime. */
export type Role = 'client' | 'supernode' | 'login' | 'orchestrator'

/** Fields that every event line carries (pino bindings plus pino's own `time`). */
export interface EventBase {
  /** Epoch milliseconds (pino's `time`). */
  time: number
  /** Run id. */
  run: string
  /** Peer id in the run (`p-017`, `login`, `orchestrator`), not the libp2p id. */
  peer: string
  /** Incarnation: 1 on the first boot of this peer in the run, +1 on each restart. */
  inc: number
  /** Role at the moment the line was written. */
  role: Role
  /** Event name. */
  ev: EventName
}

/** A supernode as peers know it: from host caches, gossip and busy answers. */
export interface SupernodeRef {
  /** Peer name (`p-003`). */
  name: string
  /** Full multiaddr with `/p2p/<id>`. */
  addr: string
}

export type AttachFailure = 'busy' | 'timeout' | 'refused' | 'not-supernode' | 'error'
export type LoginFailure = 'busy' | 'timeout' | 'rejected' | 'error'
export type OfflineReason = 'heartbeat-lost' | 'supernode-gone' | 'session-unknown' | 'demoted'
export type ClientLeftReason = 'timeout' | 'closed' | 'detached' | 'pending-expired' | 'demoted' | 'replaced'
/** Why the transport guard refused or closed something (the same list as node/transport-limits.ts). */
export type ConnLimitReason = 'handshakes-total' | 'handshakes-per-ip' | 'handshake-timeout' | 'conns-total' | 'conns-per-ip' | 'conns-per-peer' | 'conn-idle' | 'stream-linger' | 'misbehaviour' | 'banned' | 'newcomers'

export interface EventPayloads {
  /** The process is up and listening. */
  boot: {
    pid: number
    addr: string
    /** 0..3; the election needs at least `electMinCapacityClass`. */
    capacityClass: number
    bootstrap: boolean
    hostCacheSize: number
    /** True when the host cache had to be seeded from the bootstrap list. */
    firstBoot: boolean
    /** CPU (user + system, µs) the process had used when it booted: its start-up cost. */
    cpuUs: number
  }
  /** Graceful stop (SIGTERM/SIGINT). A SIGKILL leaves no shutdown line. */
  shutdown: { signal: string }
  /** One attach try at one supernode. */
  'attach.ok': { sn: string, latencyMs: number, round: number }
  'attach.failed': { sn: string, reason: AttachFailure, latencyMs: number, round: number, error?: string }
  /** A whole round over the host cache failed; `delayMs` is the retry policy's wait. */
  'attach.round-failed': { round: number, tried: number, delayMs: number }
  'login.ok': { latencyMs: number, attempt: number }
  'login.failed': { reason: LoginFailure, latencyMs: number, attempt: number, detail?: string }
  /** The retry policy's attempt limit was reached; the peer pauses `pauseMs` like a user giving up. */
  'login.gaveup': { attempts: number, pauseMs: number, phase: 'attach' | 'login' }
  'register.ok': { sn: string }
  'register.failed': { sn: string, reason: string }
  /** The peer is logged in and registered at a supernode (clients) or serving (supernodes). */
  online: { sn: string | null, sinceBootMs: number }
  offline: { reason: OfflineReason, sn: string | null }
  'heartbeat.lost': { sn: string, missed: number }
  promoted: { reason: string, uptimeMs: number }
  demoted: { reason: string, clients: number }
  /** Supernode side. */
  'client.joined': { client: string, clients: number, slotsMax: number }
  'client.left': { client: string, reason: ClientLeftReason, clients: number }
  /** Supernode side: an attach or request turned away. */
  'sn.rejected': { client: string, reason: 'full' | 'budget' | 'not-supernode' | 'no-ticket', pending: number, clients: number }
  /** Login server side, one per request. */
  'login.served': { account: string, outcome: 'ok' | 'rejected' | 'busy' | 'dropped', reason?: string, queueMs: number, cpuUs: number }
  /** A malformed, oversized or forged message was refused; the process goes on. */
  'msg.invalid': { protocol: string, from: string, error: string }
  'ticket.rejected': { client: string, error: string }
  /** Periodic counters, cumulative since boot. */
  stats: {
    msgsSent: number
    msgsRecv: number
    bytesSent: number
    bytesRecv: number
    /** Distinct peers since boot. */
    peersContacted: number
    /** Distinct peers since the previous stats line (the per-interval figure held against 2007's 10x). */
    peersContactedInterval: number
    dialsOk: number
    dialsFailed: number
    cpuUserUs: number
    cpuSystemUs: number
    rssBytes: number
    clients?: number
  }
  /** Orchestrator: host monitor sample. */
  'host.sample': { cpuBusy: number, load1: number, memAvailableBytes: number, cores: number }
  /** Orchestrator: lifecycle of the network. */
  'net.up': { peers: number, seed: string }
  'net.steady': { online: number, peers: number, elapsedMs: number }
  'net.down': { stopped: number, killed: number }
  /** Orchestrator: a network started by `docker compose up` was adopted (`patchday attach`). */
  'net.attach': { project: string, peers: number }
  /** Orchestrator: the runtime's own record of a start or death (Docker's, or the in-container supervisor's in process restart mode), beside the storm journal. */
  'runtime.event': { target: string, action: 'start' | 'die', atMs: number, exitCode?: number, scope?: 'container' | 'process' }
  /** Orchestrator: a scenario's phases on the timeline (warm-up, storm, observation). */
  'run.phase': { phase: 'warmup' | 'storm' | 'observe' | 'done', scenario: string }
  /** Orchestrator: the storm journal (Jepsen-style: each op invoked, then ok or failed). */
  'storm.plan': { stormId: string, ops: number, targets: number, windowMs: number, shape: string, seed: string, restartMode?: 'process' | 'container' }
  'storm.op': {
    stormId: string
    op: 'stop' | 'kill' | 'start'
    target: string
    status: 'invoked' | 'ok' | 'failed'
    /** When the plan said (ms after the storm's start) and how late it ran. */
    plannedMs: number
    lateMs: number
    error?: string
  }
  'storm.end': { stormId: string, ok: number, failed: number }
  /** Orchestrator: dedicated high-capacity supernodes added to recover (2010). */
  inject: { names: string[], slots: number }
  /** Orchestrator: a scenario's join began: these late peers make their first boots, spread over `overMs` (real ms). */
  join: { names: string[], overMs: number }
  /** Peer: the scenario's fault settings (PATCHDAY_ARMED) took effect, when the arm file appeared or at a boot after it. */
  'faults.armed': { keys: string[], atBoot: boolean }
  /** Orchestrator: it created the arm file (the network formed); `when` is the scenario's armFaults. */
  'run.armed': { when: string, keys: string[], peers: number }
  /** Peer: the 'crashing version' fault model exits on a slow reply. */
  crash: { reason: string, replyMs: number, thresholdMs: number }
  /** Supernode self-protection: it took itself offline above its load threshold. */
  'sn.overload': { load: number, threshold: number, clients: number }
  /**
   * The transport guard refused or closed something (node/transport-guard.ts): one
   * event per reason and interval, with how many and one sample, never one per socket.
   */
  'conn.limited': { reason: ConnLimitReason, count: number, intervalMs: number, sample: string }
  /** Lines of a summarised event left out over one interval (node/log-limiter.ts). */
  'log.suppressed': { event: string, count: number, intervalMs: number, sample: Record<string, unknown> }
  /** Supernode side: a peer's own request budget is spent; refused before the shared budget. */
  'sn.limited': { from: string, request: string, retryAfterMs: number }
  /** Login server side: refused before the shared queue (too many in flight from one peer, or too many wrong passwords for one account). */
  'login.limited': { from: string, account: string, reason: 'peer-concurrency' | 'peer-rate' | 'account-failures', retryAfterMs: number }
  /** Supernode list entries refused (unsigned, forged, expired, not from their sender, or past the per-source cap). */
  'gossip.refused': { from: string, reason: GossipRefusal, entries: number }
  /** Client side: a busy answer's retry hint was out of bounds and was clamped. */
  'hint.clamped': { from: string, hintMs: number, usedMs: number }
}

export type GossipRefusal = 'invalid-record' | 'not-sender' | 'source-cap' | 'conflict' | 'cache-full'

export type EventName = keyof EventPayloads

export type PeerEvent<E extends EventName = EventName> = E extends EventName
  ? EventBase & { ev: E } & EventPayloads[E]
  : never

/** Every event name, at run time (kept in step with EventPayloads by the type below). */
export const EVENT_NAMES = [
  'boot', 'shutdown',
  'attach.ok', 'attach.failed', 'attach.round-failed',
  'login.ok', 'login.failed', 'login.gaveup',
  'register.ok', 'register.failed',
  'online', 'offline', 'heartbeat.lost',
  'promoted', 'demoted',
  'client.joined', 'client.left', 'sn.rejected',
  'login.served', 'msg.invalid', 'ticket.rejected',
  'stats', 'host.sample',
  'net.up', 'net.steady', 'net.down', 'net.attach', 'runtime.event',
  'run.phase', 'storm.plan', 'storm.op', 'storm.end', 'inject', 'join',
  'faults.armed', 'run.armed', 'crash', 'sn.overload', 'conn.limited',
  'log.suppressed', 'sn.limited', 'login.limited', 'gossip.refused', 'hint.clamped'
] as const satisfies readonly EventName[]

/**
 * Events that bad input or refused requests produce, at whatever rate a peer
 * chooses: past a bound per interval they are counted in one `log.suppressed`
 * line (node/log.ts). The analysis counts none of them; every event it counts
 * is written one line each.
 */
export const SUMMARISED_EVENTS = [
  'msg.invalid', 'ticket.rejected', 'sn.rejected', 'sn.limited', 'login.limited', 'gossip.refused', 'hint.clamped'
] as const satisfies readonly EventName[]

type Missing = Exclude<EventName, (typeof EVENT_NAMES)[number]>
// Compile-time check: a name added to EventPayloads but not to EVENT_NAMES fails here.
const _allListed: Missing extends never ? true : Missing = true
void _allListed

const NAMES = new Set<string>(EVENT_NAMES)

export function isEventName (value: unknown): value is EventName {
  return typeof value === 'string' && NAMES.has(value)
}

/**
 * Parse one log line into an event, or return undefined for lines that are not
 * contract events (pino lines without `ev`, partial last lines, garbage).
 */
export function parseEventLine (line: string): PeerEvent | undefined {
  if (line.length === 0 || line.charCodeAt(0) !== 123 /* { */) return undefined
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err) {
    if (err instanceof SyntaxError) return undefined
    throw err
  }
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (!isEventName(v.ev) || typeof v.time !== 'number' || typeof v.peer !== 'string') return undefined
  return v as unknown as PeerEvent
}
