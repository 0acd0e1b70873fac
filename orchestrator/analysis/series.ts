/**
 * Time series of a run: the merged timeline cut into fixed buckets (1 s of
 * real time by default). State series (online, attaching, supernodes, clients
 * per supernode) are sampled from the NetworkState reducer at each bucket's
 * end; outcome series (attach, login) count the events inside the bucket;
 * rates (messages and peers contacted per client) come from `stats` deltas.
 *
 * Columnar arrays, one entry per bucket, so report.json stays compact and the
 * charts read them directly. `t[i]` is the end of bucket i in seconds since
 * `startMs`.
 */
import type { PeerEvent } from '../../node/contract/events.ts'
import { NetworkState } from './state.ts'

/** Default bucket width: 1 s of real time. */
export const BUCKET_MS_DEFAULT = 1000
/** A run longer than this many buckets is refused rather than allocated. */
export const BUCKETS_MAX = 200_000

export class AnalysisError extends Error {
  override name = 'AnalysisError'
}

export interface SeriesInit {
  /** Bucket width in real ms (default BUCKET_MS_DEFAULT). */
  bucketMs?: number
  /** Peers the run started (run.json); default: the peers seen in the logs. */
  expectedPeers?: number
  /** First bucket starts here (default: the first event's time). */
  fromMs?: number
  /** Events at or after this time are ignored (default: after the last event). */
  toMs?: number
}

export interface Series {
  startMs: number
  bucketMs: number
  /** End of each bucket, seconds since startMs. */
  t: number[]
  online: number[]
  attaching: number[]
  supernodes: number[]
  clientsPerSnMedian: number[]
  clientsPerSnMax: number[]
  attachOk: number[]
  attachBusy: number[]
  attachTimeout: number[]
  /** refused, not-supernode, error. */
  attachOther: number[]
  loginOk: number[]
  loginRejected: number[]
  loginBusy: number[]
  loginTimeout: number[]
  loginOther: number[]
  loginP50Ms: Array<number | null>
  /** The login server's queue, as time: the longest wait in its queue of a login it served in the bucket (login.served queueMs); null when it served none. */
  loginQueueMs: Array<number | null>
  loginP99Ms: Array<number | null>
  /** Messages (sent + received) per client per real second, from stats deltas; null without reports. */
  msgsPerClientS: Array<number | null>
  /** Mean of peersContactedInterval over the clients reporting in the bucket. */
  peersPerClient: Array<number | null>
  /** Raw sums behind the two rates, so windows can be aggregated exactly. */
  clientMsgs: number[]
  clientStatsS: number[]
  clientPeersSum: number[]
  clientReports: number[]
  hostCpuBusy: Array<number | null>
  hostLoad1: Array<number | null>
}

interface Counters { msgs: number, seconds: number, peersSum: number, reports: number, latencies: number[], cpu: number[], load: number[], queueMs: number | null }

/** Nearest-rank quantile of an ascending array; null when empty. */
export function quantile (sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1] as number
}

export function mean (values: readonly number[]): number | null {
  if (values.length === 0) return null
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

/** Bucket index of a time (may be out of range). */
export function bucketIndex (series: Pick<Series, 'startMs' | 'bucketMs'>, timeMs: number): number {
  return Math.floor((timeMs - series.startMs) / series.bucketMs)
}

/** Absolute end time of bucket i. */
export function bucketEndMs (series: Pick<Series, 'startMs' | 'bucketMs'>, i: number): number {
  return series.startMs + (i + 1) * series.bucketMs
}

/**
 * A SIGKILLed peer logs nothing, so the orchestrator's journal line ('kill' or
 * 'stop' ok) is what takes it offline. Same effect as NetworkState.markDead for
 * one peer; the next incarnation's boot line brings it back.
 */
export function markStopped (state: NetworkState, target: string): void {
  const s = state.peers.get(target)
  if (s !== undefined) { s.phase = 'offline'; s.sn = null }
}

function emptySeries (startMs: number, bucketMs: number): Series {
  return {
    startMs,
    bucketMs,
    t: [],
    online: [],
    attaching: [],
    supernodes: [],
    clientsPerSnMedian: [],
    clientsPerSnMax: [],
    attachOk: [],
    attachBusy: [],
    attachTimeout: [],
    attachOther: [],
    loginOk: [],
    loginRejected: [],
    loginBusy: [],
    loginTimeout: [],
    loginOther: [],
    loginP50Ms: [],
    loginQueueMs: [],
    loginP99Ms: [],
    msgsPerClientS: [],
    peersPerClient: [],
    clientMsgs: [],
    clientStatsS: [],
    clientPeersSum: [],
    clientReports: [],
    hostCpuBusy: [],
    hostLoad1: []
  }
}

const COUNTED = [
  'attachOk', 'attachBusy', 'attachTimeout', 'attachOther',
  'loginOk', 'loginRejected', 'loginBusy', 'loginTimeout', 'loginOther'
] as const
type Counted = (typeof COUNTED)[number]

function countedKey (e: PeerEvent): Counted | undefined {
  switch (e.ev) {
    case 'attach.ok': return 'attachOk'
    case 'attach.failed': return e.reason === 'busy' ? 'attachBusy' : e.reason === 'timeout' ? 'attachTimeout' : 'attachOther'
    case 'login.ok': return 'loginOk'
    case 'login.failed':
      return e.reason === 'rejected' ? 'loginRejected' : e.reason === 'busy' ? 'loginBusy' : e.reason === 'timeout' ? 'loginTimeout' : 'loginOther'
    default: return undefined
  }
}

/** Bin a merged timeline (readTimeline) into a Series. Pure. */
export function buildSeries (events: readonly PeerEvent[], init: SeriesInit = {}): Series {
  const bucketMs = init.bucketMs ?? BUCKET_MS_DEFAULT
  if (!(bucketMs > 0)) throw new AnalysisError(`bucketMs must be > 0, got ${bucketMs}`)
  const first = events[0]
  const last = events[events.length - 1]
  if (first === undefined || last === undefined) throw new AnalysisError('no events in the run\'s logs')
  const startMs = init.fromMs ?? first.time
  const toMs = init.toMs ?? last.time + 1
  const n = Math.max(1, Math.ceil((toMs - startMs) / bucketMs))
  if (n > BUCKETS_MAX) throw new AnalysisError(`${n} buckets of ${bucketMs} ms exceed the limit of ${BUCKETS_MAX}; use a wider bucket`)

  const series = emptySeries(startMs, bucketMs)
  const state = new NetworkState()
  const seen = new Set<string>()
  const prevStats = new Map<string, { time: number, msgs: number }>()
  let counts = Object.fromEntries(COUNTED.map(k => [k, 0])) as Record<Counted, number>
  let c: Counters = { msgs: 0, seconds: 0, peersSum: 0, reports: 0, latencies: [], cpu: [], load: [], queueMs: null }
  let bucket = 0

  const close = (): void => {
    const summary = state.summary(Math.max(init.expectedPeers ?? 0, seen.size))
    series.t.push(((bucket + 1) * bucketMs) / 1000)
    series.online.push(summary.online)
    series.attaching.push(summary.attaching)
    series.supernodes.push(summary.supernodes)
    series.clientsPerSnMedian.push(summary.clientsPerSupernode.median)
    series.clientsPerSnMax.push(summary.clientsPerSupernode.max)
    for (const k of COUNTED) series[k].push(counts[k])
    c.latencies.sort((a, b) => a - b)
    series.loginP50Ms.push(quantile(c.latencies, 0.5))
    series.loginP99Ms.push(quantile(c.latencies, 0.99))
    series.loginQueueMs.push(c.queueMs)
    series.msgsPerClientS.push(c.seconds > 0 ? c.msgs / c.seconds : null)
    series.peersPerClient.push(c.reports > 0 ? c.peersSum / c.reports : null)
    series.clientMsgs.push(c.msgs)
    series.clientStatsS.push(c.seconds)
    series.clientPeersSum.push(c.peersSum)
    series.clientReports.push(c.reports)
    series.hostCpuBusy.push(mean(c.cpu))
    series.hostLoad1.push(mean(c.load))
    counts = Object.fromEntries(COUNTED.map(k => [k, 0])) as Record<Counted, number>
    c = { msgs: 0, seconds: 0, peersSum: 0, reports: 0, latencies: [], cpu: [], load: [], queueMs: null }
    bucket++
  }

  for (const e of events) {
    if (e.time < startMs) { applyState(state, seen, prevStats, e); continue }
    if (e.time >= toMs) break
    const b = Math.floor((e.time - startMs) / bucketMs)
    while (bucket < b && bucket < n) close()
    applyState(state, seen, prevStats, e)
    const key = countedKey(e)
    if (key !== undefined) counts[key]++
    if (e.ev === 'login.ok') c.latencies.push(e.latencyMs)
    if (e.ev === 'login.served' && (e.outcome === 'ok' || e.outcome === 'rejected')) c.queueMs = Math.max(c.queueMs ?? 0, e.queueMs)
    if (e.ev === 'host.sample') { c.cpu.push(e.cpuBusy); c.load.push(e.load1) }
    if (e.ev === 'stats' && e.role === 'client') addStats(c, prevStats, e)
    if (e.ev === 'stats') prevStats.set(`${e.peer}#${e.inc}`, { time: e.time, msgs: e.msgsSent + e.msgsRecv })
  }
  while (bucket < n) close()
  return series
}

function applyState (state: NetworkState, seen: Set<string>, prevStats: Map<string, { time: number, msgs: number }>, e: PeerEvent): void {
  if (e.ev === 'storm.op' && e.status === 'ok' && (e.op === 'kill' || e.op === 'stop')) markStopped(state, e.target)
  if (e.peer !== 'orchestrator' && e.role !== 'login') seen.add(e.peer)
  // Counters are cumulative since boot: the boot line is the zero of the first interval.
  if (e.ev === 'boot') prevStats.set(`${e.peer}#${e.inc}`, { time: e.time, msgs: 0 })
  state.apply(e)
}

function addStats (c: Counters, prevStats: Map<string, { time: number, msgs: number }>, e: PeerEvent<'stats'>): void {
  // peersContactedInterval is valid on its own; the message rate needs the previous line.
  if (typeof e.peersContactedInterval === 'number') { c.peersSum += e.peersContactedInterval; c.reports++ }
  const prev = prevStats.get(`${e.peer}#${e.inc}`)
  if (prev === undefined) return
  const dtS = (e.time - prev.time) / 1000
  const dMsgs = e.msgsSent + e.msgsRecv - prev.msgs
  if (dtS > 0 && dMsgs >= 0) { c.msgs += dMsgs; c.seconds += dtS }
}
