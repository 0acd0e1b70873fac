/**
 * Amplification: how much more signalling each client does, and how many more
 * distinct peers it contacts, during the storm (until recovery, or to the end
 * if the network never recovers) than in the calm baseline before it. Rossi,
 * Mellia and Meo measured about 3x and 10x from outside Skype in August 2007.
 *
 * Only `stats` lines written with role `client` count: the figures are per
 * client, as in 2007, and a supernode's serving traffic is not signalling of its
 * own. Attaching clients count as well as online ones, since their retries are
 * the amplification. Window means are ratios of sums (messages over
 * client-seconds; peers contacted over reports), so buckets without reports
 * weigh nothing; peaks are the highest single bucket.
 */
import type { Series } from './series.ts'

/** Rossi, Mellia, Meo (ICC 2009): signalling per client during the 2007 outage. */
export const SIGNALLING_2007_RATIO = 3
/** Same source: distinct peers contacted per client. */
export const PEERS_CONTACTED_2007_RATIO = 10

export interface BucketRange { from: number, to: number }

export interface AmplifiedFigure {
  /** Calm baseline value (per client). */
  baseline: number | null
  /** Mean and highest bucket in the window. */
  mean: number | null
  peak: number | null
  meanRatio: number | null
  peakRatio: number | null
  /** The 2007 measurement, to print beside ours. */
  measured2007: number
}

export interface Amplification {
  /** 'storm': storm start to recovery or end; 'observe': a calm run's post-warm-up, which should be ~1x. */
  window: 'storm' | 'observe'
  baselineS: { from: number, to: number }
  windowS: { from: number, to: number }
  /** Messages (sent + received) per client per real second. */
  signalling: AmplifiedFigure
  /** Distinct peers contacted per client per stats interval. */
  peersContacted: AmplifiedFigure
}

const ratio = (a: number | null, b: number | null): number | null => a === null || b === null || b <= 0 ? null : a / b

function sum (values: readonly number[], r: BucketRange): number {
  let s = 0
  for (let i = r.from; i < r.to; i++) s += values[i] ?? 0
  return s
}

function peak (values: ReadonlyArray<number | null>, r: BucketRange): number | null {
  let best: number | null = null
  for (let i = r.from; i < r.to; i++) {
    const v = values[i]
    if (v !== null && v !== undefined && (best === null || v > best)) best = v
  }
  return best
}

function figure (base: number | null, windowMean: number | null, windowPeak: number | null, measured2007: number): AmplifiedFigure {
  return { baseline: base, mean: windowMean, peak: windowPeak, meanRatio: ratio(windowMean, base), peakRatio: ratio(windowPeak, base), measured2007 }
}

/** Messages per client-second over a bucket range; null without reports. */
export function signallingPerClient (series: Series, r: BucketRange): number | null {
  const seconds = sum(series.clientStatsS, r)
  return seconds > 0 ? sum(series.clientMsgs, r) / seconds : null
}

/** Mean peers contacted per client report over a bucket range; null without reports. */
export function peersPerClient (series: Series, r: BucketRange): number | null {
  const reports = sum(series.clientReports, r)
  return reports > 0 ? sum(series.clientPeersSum, r) / reports : null
}

/** Clamp a range to the series. */
export function clampRange (series: Series, r: BucketRange): BucketRange {
  const n = series.t.length
  const from = Math.min(n, Math.max(0, r.from))
  return { from, to: Math.min(n, Math.max(from, r.to)) }
}

/** Amplification of `window` against `baseline` (bucket ranges, [from, to)). Pure. */
export function amplification (series: Series, baseline: BucketRange, window: BucketRange, kind: Amplification['window'] = 'storm'): Amplification {
  const b = clampRange(series, baseline)
  const w = clampRange(series, window)
  const s = (i: number): number => (i * series.bucketMs) / 1000
  return {
    window: kind,
    baselineS: { from: s(b.from), to: s(b.to) },
    windowS: { from: s(w.from), to: s(w.to) },
    signalling: figure(signallingPerClient(series, b), signallingPerClient(series, w), peak(series.msgsPerClientS, w), SIGNALLING_2007_RATIO),
    peersContacted: figure(peersPerClient(series, b), peersPerClient(series, w), peak(series.peersPerClient, w), PEERS_CONTACTED_2007_RATIO)
  }
}
