/**
 * The report of a run: series, verdict, amplification and host check combined
 * (each checker is a separate pure function over the history, Jepsen-style).
 * `analyseRun` is pure; `buildReport` reads a run folder; `writeReport` also
 * writes report.json and the self-contained report.html next to run.json.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { PeerEvent } from '../../node/contract/events.ts'
import { RunMeta, writeJsonAtomic } from '../run/dir.ts'
import { readTimeline } from '../logs/tail.ts'
import { type Series, type SeriesInit, buildSeries, bucketIndex } from './series.ts'
import { type Verdict, type VerdictInit, type Baseline, type RunWindows, findWindows, judge } from './verdict.ts'
import { type Amplification, amplification } from './amplification.ts'
import { type HostInit, type HostReport, checkHost, hostSamples } from './host.ts'
import { renderReportHtml, loadChartJs, runtimeWords } from './report-html.ts'
import { type LagReport, checkRuntimeLag } from './lag.ts'
import { judgeStorms, stormWindows, type StormJudgement } from './storms.ts'

export const REPORT_JSON = 'report.json'
export const REPORT_HTML = 'report.html'

export interface ReportInit {
  /** Bucket width in real ms (default 1000). */
  bucketMs?: number
  verdict?: VerdictInit
  host?: HostInit
}

export interface ReportCounts {
  boots: number
  restarts: number
  attachOk: number
  attachFailed: Record<string, number>
  loginsOk: number
  loginsFailed: Record<string, number>
  loginsGaveUp: number
  loginServed: Record<string, number>
  stormOps: { ok: number, failed: number }
  crashes: number
  snOverloads: number
  injected: number
}

export interface Report {
  version: 1
  runId: string
  seed: string
  scenario: string | null
  runtime: string
  /** How storms restarted peers (run.json; null: recorded before the modes). */
  restartMode: string | null
  /** Container runtimes: the containers' network (bridge or host; a run.json without it: bridge); null for local processes. */
  network: string | null
  timeScale: number
  peers: number
  /** With several storms (a history), the last storm's own verdict (see `storms`). */
  verdict: Verdict
  reasons: string[]
  /** Real seconds from the storm's end (a calm run: the warm-up's end) to 95% of the baseline; null if never. */
  recoveryS: number | null
  /** The same in emulated seconds (recoveryS / timeScale). */
  recoveryEmulatedS: number | null
  /** Windows in seconds since series.startMs. */
  windows: { warmupS: { from: number, to: number }, stormS: { from: number, to: number } | null, triggerEndS: number, endS: number, stormIds: string[] }
  baseline: Baseline
  endOnline: number
  endShare: number | null
  amplification: Amplification
  host: HostReport
  /** Did the runtime deliver the storms on time (container restarts are slow)? */
  runtimeLag: LagReport
  /** Each storm judged on its own segment (analysis/storms.ts); one entry per storm id, in order. */
  storms: StormJudgement[]
  /** When the scenario's fault models were armed (null: nothing armed late, or a run from before arming). */
  faults: FaultsArmed | null
  counts: ReportCounts
  thresholds: Record<string, number>
  series: Series
}

export interface FaultsArmed {
  /** Seconds since series.startMs at which the orchestrator armed them. */
  armedS: number
  when: string
  keys: string[]
  /** Peers the scenario arms, and those that logged `faults.armed` (on arming, or booting after it). */
  peers: number
  peersArmed: number
}

/** The orchestrator's `run.armed` and the peers' `faults.armed` (pure). */
export function faultsArmed (events: readonly PeerEvent[], startMs: number): FaultsArmed | null {
  const armed = events.find((e): e is PeerEvent<'run.armed'> => e.ev === 'run.armed')
  if (armed === undefined) return null
  const peers = new Set<string>()
  for (const e of events) if (e.ev === 'faults.armed') peers.add(e.peer)
  return { armedS: (armed.time - startMs) / 1000, when: armed.when, keys: armed.keys, peers: armed.peers, peersArmed: peers.size }
}

const inc = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1 }

export function countEvents (events: readonly PeerEvent[], fromMs: number, toMs: number): ReportCounts {
  const c: ReportCounts = { boots: 0, restarts: 0, attachOk: 0, attachFailed: {}, loginsOk: 0, loginsFailed: {}, loginsGaveUp: 0, loginServed: {}, stormOps: { ok: 0, failed: 0 }, crashes: 0, snOverloads: 0, injected: 0 }
  for (const e of events) {
    if (e.time < fromMs || e.time >= toMs) continue
    switch (e.ev) {
      case 'boot': if (e.role !== 'login') { c.boots++; if (e.inc > 1) c.restarts++ } break
      case 'attach.ok': c.attachOk++; break
      case 'attach.failed': inc(c.attachFailed, e.reason); break
      case 'login.ok': c.loginsOk++; break
      case 'login.failed': inc(c.loginsFailed, e.reason); break
      case 'login.gaveup': c.loginsGaveUp++; break
      case 'login.served': inc(c.loginServed, e.outcome); break
      case 'storm.op': if (e.status === 'ok') c.stormOps.ok++; else if (e.status === 'failed') c.stormOps.failed++; break
      case 'crash': c.crashes++; break
      case 'sn.overload': c.snOverloads++; break
      case 'inject': c.injected += e.names.length; break
      default: break
    }
  }
  return c
}

/** Analyse a run's merged timeline. Pure. */
export function analyseRun (meta: RunMeta, events: readonly PeerEvent[], init: ReportInit = {}): Report {
  const windows: RunWindows = findWindows(events, init.verdict?.calmWarmupShare)
  const counts = countEvents(events, windows.startMs, windows.endMs)
  // Injected mega-supernodes (2010) are peers that run.json does not list.
  const seriesInit: SeriesInit = { fromMs: windows.startMs, toMs: windows.endMs, expectedPeers: meta.peers.length + counts.injected }
  if (init.bucketMs !== undefined) seriesInit.bucketMs = init.bucketMs
  const series = buildSeries(events, seriesInit)
  const v = judge(series, windows, init.verdict)
  const n = series.t.length
  const rel = (ms: number): number => (ms - series.startMs) / 1000
  // Amplification window: storm start to recovery (or the end); a calm run: after the warm-up.
  const windowFrom = bucketIndex(series, windows.storm?.startMs ?? windows.warmupEndMs)
  const stormEndBucket = windows.storm === null ? n : bucketIndex(series, windows.storm.endMs) + 1
  const windowTo = v.recoveredBucket === null ? n : Math.max(stormEndBucket, v.recoveredBucket + 1)
  const amp = amplification(series, { from: v.baseline.fromBucket, to: v.baseline.toBucket }, { from: windowFrom, to: windowTo }, windows.storm === null ? 'observe' : 'storm')
  const host = checkHost(hostSamples(events), windows.storm?.startMs ?? windows.warmupEndMs, windows.endMs, init.host)
  const runtimeLag = checkRuntimeLag(events)
  const storms = judgeStorms(series, stormWindows(events, windows.endMs), windows, init.verdict)
  // A history of patch days: the run ends as its last storm left it, judged against the calm
  // before that storm (the whole-run baseline is the first warm-up's, a smaller population).
  const last = storms.length > 1 ? storms[storms.length - 1] : undefined
  const verdict = last === undefined ? v.verdict : last.verdict
  const verdictReasons = last === undefined ? v.reasons : [`a history of ${storms.length} storms (${storms.map(st => `${st.id}: ${st.verdict}`).join(', ')}): the run's verdict is the last storm's`, ...last.reasons]
  const recoveryS = last === undefined ? v.recoveryS : last.recoveryS
  return {
    version: 1,
    runId: meta.runId,
    seed: meta.seed,
    scenario: windows.scenario,
    runtime: meta.runtime,
    restartMode: meta.restartMode ?? null,
    network: meta.network ?? (meta.runtime === 'local' ? null : 'bridge'),
    timeScale: meta.timeScale,
    peers: meta.peers.length,
    verdict,
    reasons: [...verdictReasons, host.note, ...(runtimeLag.lagged ? [runtimeLag.note] : [])],
    recoveryS,
    recoveryEmulatedS: recoveryS === null || !(meta.timeScale > 0) ? null : recoveryS / meta.timeScale,
    windows: {
      warmupS: { from: rel(windows.warmupStartMs), to: rel(windows.warmupEndMs) },
      stormS: windows.storm === null ? null : { from: rel(windows.storm.startMs), to: rel(windows.storm.endMs) },
      triggerEndS: v.triggerEndS,
      endS: rel(windows.endMs),
      stormIds: windows.storm?.ids ?? []
    },
    baseline: v.baseline,
    endOnline: v.endOnline,
    endShare: v.endShare,
    amplification: amp,
    host,
    runtimeLag,
    storms,
    faults: faultsArmed(events, series.startMs),
    counts,
    thresholds: { ...v.thresholds, busyThreshold: host.busyThreshold, saturatedShare: host.saturatedShare, bucketMs: series.bucketMs },
    series
  }
}

/** Read runs/<id>/run.json and logs/*.log and analyse them. */
export async function buildReport (runDir: string, init: ReportInit = {}): Promise<Report> {
  const meta = RunMeta.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')))
  const events = await readTimeline(join(runDir, 'logs'))
  return analyseRun(meta, events, init)
}

/** Build the report and write report.json and report.html into the run folder. */
export async function writeReport (runDir: string, init: ReportInit = {}): Promise<Report> {
  const report = await buildReport(runDir, init)
  await writeJsonAtomic(join(runDir, REPORT_JSON), report)
  const html = renderReportHtml(report, await loadChartJs())
  await writeFile(join(runDir, `${REPORT_HTML}.tmp`), html)
  await rename(join(runDir, `${REPORT_HTML}.tmp`), join(runDir, REPORT_HTML))
  return report
}

const num = (v: number | null, digits = 1): string => v === null ? 'n/a' : v.toFixed(digits)
const times = (v: number | null): string => v === null ? 'n/a' : `${v.toFixed(1)}x`

/** A few lines for the terminal. */
export function formatSummary (report: Report): string {
  const a = report.amplification
  const lines = [
    `run ${report.runId}${report.scenario === null ? '' : ` (${report.scenario})`}  seed ${report.seed}`,
    `verdict: ${report.verdict.toUpperCase()}`,
    ...report.reasons.map(r => `  - ${r}`),
    ...(report.storms.length > 1 ? report.storms.map(st => `  storm ${st.id}: ${st.verdict}, recovery ${st.recoveryS === null ? 'never' : `${num(st.recoveryS)} s`}, baseline ${num(st.baselineOnline)} online, end ${num(st.endOnline)}; signalling ${times(st.amplification.signalling.meanRatio)}, peers contacted ${times(st.amplification.peersContacted.meanRatio)}`) : []),
    ...(report.faults === null ? [] : [`faults armed at ${num(report.faults.armedS)} s (${report.faults.when}): ${report.faults.keys.join(', ')}; ${report.faults.peersArmed} peers confirmed (${report.faults.peers} planned; injected supernodes arm at their boot)`]),
    `recovery: ${report.recoveryS === null ? 'never' : `${num(report.recoveryS)} s real (${num(report.recoveryEmulatedS)} s emulated)`}`,
    `baseline: ${num(report.baseline.online)} peers online of ${report.peers}, ${num(report.baseline.supernodes)} supernodes`,
    `amplification (${a.window} window ${num(a.windowS.from, 0)}..${num(a.windowS.to, 0)} s vs baseline ${num(a.baselineS.from, 0)}..${num(a.baselineS.to, 0)} s):`,
    `  signalling per client:      mean ${times(a.signalling.meanRatio)}  peak ${times(a.signalling.peakRatio)}  (baseline ${num(a.signalling.baseline, 2)} msgs/s; 2007: ~${a.signalling.measured2007}x)`,
    `  peers contacted per client: mean ${times(a.peersContacted.meanRatio)}  peak ${times(a.peersContacted.peakRatio)}  (baseline ${num(a.peersContacted.baseline, 2)} per interval; 2007: ~${a.peersContacted.measured2007}x)`,
    `host: ${report.host.hostSaturated ? 'SATURATED' : 'ok'}; CPU mean ${num(report.host.cpuBusyMean === null ? null : report.host.cpuBusyMean * 100, 0)}% max ${num(report.host.cpuBusyMax === null ? null : report.host.cpuBusyMax * 100, 0)}%, load1 max ${num(report.host.load1Max)} on ${report.host.cores ?? '?'} cores`,
    `runtime: ${runtimeWords(report)}; ${report.runtimeLag.note}`,
    `logins ok ${report.counts.loginsOk}, failed ${sumOf(report.counts.loginsFailed)}; attaches ok ${report.counts.attachOk}, failed ${sumOf(report.counts.attachFailed)}; restarts ${report.counts.restarts}`
  ]
  return lines.join('\n')
}

const sumOf = (m: Record<string, number>): number => Object.values(m).reduce((x, y) => x + y, 0)
