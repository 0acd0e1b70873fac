/**
 * The liveness checker: did the network come back after the trigger ended?
 *
 * Windows come from the orchestrator's own lines: the storm is the first
 * `storm.plan` to the last `storm.end` (else the `run.phase` storm marker to the
 * next phase); warm-up is everything before it. The baseline is the mean number
 * of online peers over the last part of the warm-up. After the trigger ends:
 * - `recovered`: online is back to `recoverShare` of the baseline for `sustainMs`
 *   and has not fallen below the floor again by the end;
 * - `degraded`: not back, but at the end online is at least `floorShare` of the
 *   baseline, or still rising;
 * - `metastable`: at the end online is below the floor and not rising although
 *   the trigger has ended (Bronson et al.: the bad state persists on its own).
 * A calm run (no storm) is judged from the end of its warm-up; without a trigger
 * a down network is `degraded`, never `metastable`.
 */
import type { PeerEvent } from '../../node/contract/events.ts'
import { type Series, bucketIndex, bucketEndMs, mean } from './series.ts'

export type Verdict = 'recovered' | 'degraded' | 'metastable'

/** Share of the warm-up (its last part) whose mean online count is the baseline. */
export const BASELINE_SHARE_DEFAULT = 0.3
/** Online must be back to this share of the baseline to count as recovered (issue: 95%). */
export const RECOVER_SHARE_DEFAULT = 0.95
/** Below this share of the baseline at the end, a run that has not recovered is metastable. */
export const FLOOR_SHARE_DEFAULT = 0.5
/** Recovery must hold this long (real ms) so that one good bucket is not enough. */
export const SUSTAIN_MS_DEFAULT = 3000
/** The "end" of the observation: its last this-many real ms. */
export const END_WINDOW_MS_DEFAULT = 10_000
/** Still rising: the end window's mean exceeds the window before it by this share of the baseline. */
export const RISING_SHARE_DEFAULT = 0.05
/** Without phase markers, storm and `net.steady`, the first this share of a run is taken as warm-up. */
export const CALM_WARMUP_SHARE_DEFAULT = 0.3
/** Less observation than this (real ms) after the trigger gets a warning reason. */
export const OBSERVE_MIN_MS_DEFAULT = 30_000
/** Without a `done` marker, shutdown lines this close (real ms) to each other and to `net.down` are the teardown. */
export const TEARDOWN_GAP_MS_DEFAULT = 2000

export interface VerdictInit {
  baselineShare?: number
  recoverShare?: number
  floorShare?: number
  sustainMs?: number
  endWindowMs?: number
  risingShare?: number
  calmWarmupShare?: number
  observeMinMs?: number
}

export interface RunWindows {
  /** First and last event considered (epoch ms); endMs is exclusive. */
  startMs: number
  endMs: number
  warmupStartMs: number
  /** End of the warm-up: the storm's start, or the observation's start in a calm run. */
  warmupEndMs: number
  storm: { startMs: number, endMs: number, ids: string[] } | null
  scenario: string | null
}

/**
 * Find the run's windows in its timeline. The end is the `done` phase marker,
 * else the start of the teardown before the orchestrator's `net.down` (peers
 * log their SIGTERM shutdown before `down` logs), else just after the last
 * event: the network being taken down on purpose is not an outage.
 */
export function findWindows (events: readonly PeerEvent[], calmWarmupShare = CALM_WARMUP_SHARE_DEFAULT): RunWindows {
  const first = events[0]
  const last = events[events.length - 1]
  if (first === undefined || last === undefined) return { startMs: 0, endMs: 1, warmupStartMs: 0, warmupEndMs: 0, storm: null, scenario: null }
  let done: number | undefined; let down: number | undefined; let steady: number | undefined
  let warmup: number | undefined; let observe: number | undefined; let phaseStorm: number | undefined
  let planAt: number | undefined; let endAt: number | undefined
  let scenario: string | null = null
  const ids: string[] = []
  for (const e of events) {
    if (e.peer !== 'orchestrator') continue
    if (e.ev === 'run.phase') {
      if (e.scenario !== '') scenario = e.scenario
      if (e.phase === 'warmup') warmup ??= e.time
      if (e.phase === 'storm') phaseStorm ??= e.time
      if (e.phase === 'observe') observe ??= e.time
      if (e.phase === 'done') done ??= e.time
    } else if (e.ev === 'storm.plan') {
      planAt ??= e.time
      if (!ids.includes(e.stormId)) ids.push(e.stormId)
    } else if (e.ev === 'storm.end') {
      endAt = e.time
    } else if (e.ev === 'net.down') {
      down ??= e.time
    } else if (e.ev === 'net.steady') {
      steady ??= e.time
    }
  }
  const startMs = first.time
  const endMs = done ?? (down !== undefined ? teardownStart(events, down) : last.time + 1)
  let storm: RunWindows['storm'] = null
  if (planAt !== undefined) {
    storm = { startMs: planAt, endMs: endAt !== undefined && endAt >= planAt ? endAt : (observe ?? endMs), ids }
  } else if (phaseStorm !== undefined) {
    storm = { startMs: phaseStorm, endMs: observe !== undefined && observe >= phaseStorm ? observe : endMs, ids }
  }
  const warmupStartMs = warmup ?? startMs
  // A calm run without markers (`up`, then `down`): warm-up until the network was declared steady.
  const warmupEndMs = storm?.startMs ?? observe ?? steady ?? warmupStartMs + calmWarmupShare * (endMs - warmupStartMs)
  return { startMs, endMs, warmupStartMs, warmupEndMs, storm, scenario }
}

/** The earliest shutdown of the burst that ends at `downMs` (gaps of at most TEARDOWN_GAP_MS_DEFAULT). */
function teardownStart (events: readonly PeerEvent[], downMs: number): number {
  let cut = downMs
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as PeerEvent
    if (e.time > downMs || e.ev !== 'shutdown' || e.peer === 'orchestrator') continue
    if (cut - e.time > TEARDOWN_GAP_MS_DEFAULT) break
    cut = e.time
  }
  return cut
}

export interface Baseline {
  /** Mean online peers over the baseline window. */
  online: number
  supernodes: number
  /** Bucket range [from, to) and the same in seconds since the series' start. */
  fromBucket: number
  toBucket: number
  fromS: number
  toS: number
}

export interface VerdictResult {
  verdict: Verdict
  reasons: string[]
  /** Real seconds from the trigger's end until online was back to recoverShare of the baseline; null if never. */
  recoveryS: number | null
  /** Bucket where recovery was reached (null if never). */
  recoveredBucket: number | null
  baseline: Baseline
  /** When the trigger ended (storm end, or warm-up end in a calm run), seconds since the series' start. */
  triggerEndS: number
  /** Mean online over the end window, and as a share of the baseline. */
  endOnline: number
  endShare: number | null
  rising: boolean
  thresholds: Required<VerdictInit>
}

function thresholdsOf (init: VerdictInit): Required<VerdictInit> {
  return {
    baselineShare: init.baselineShare ?? BASELINE_SHARE_DEFAULT,
    recoverShare: init.recoverShare ?? RECOVER_SHARE_DEFAULT,
    floorShare: init.floorShare ?? FLOOR_SHARE_DEFAULT,
    sustainMs: init.sustainMs ?? SUSTAIN_MS_DEFAULT,
    endWindowMs: init.endWindowMs ?? END_WINDOW_MS_DEFAULT,
    risingShare: init.risingShare ?? RISING_SHARE_DEFAULT,
    calmWarmupShare: init.calmWarmupShare ?? CALM_WARMUP_SHARE_DEFAULT,
    observeMinMs: init.observeMinMs ?? OBSERVE_MIN_MS_DEFAULT
  }
}

const clampIndex = (i: number, n: number): number => Math.min(n, Math.max(0, i))
const rangeMean = (values: readonly number[], from: number, to: number): number => mean(values.slice(from, to)) ?? 0
const pct = (share: number): string => `${Math.round(share * 100)}%`
const fmt = (v: number): string => (Math.round(v * 10) / 10).toString()

/** The baseline: mean online over the last `baselineShare` of the warm-up (at least one bucket). */
export function baselineOf (series: Series, windows: RunWindows, baselineShare = BASELINE_SHARE_DEFAULT): Baseline {
  const n = series.online.length
  const wFrom = clampIndex(bucketIndex(series, windows.warmupStartMs), n)
  // Buckets that end before the warm-up ends: their end-of-bucket sample is still calm.
  const wTo = clampIndex(bucketIndex(series, windows.warmupEndMs), n)
  const len = Math.max(1, Math.ceil((wTo - wFrom) * baselineShare))
  const toBucket = Math.max(Math.min(wTo, n), 1)
  const fromBucket = Math.max(0, toBucket - len)
  return {
    online: rangeMean(series.online, fromBucket, toBucket),
    supernodes: rangeMean(series.supernodes, fromBucket, toBucket),
    fromBucket,
    toBucket,
    fromS: (fromBucket * series.bucketMs) / 1000,
    toS: (toBucket * series.bucketMs) / 1000
  }
}

/** Judge a run's series. Pure: the same series and windows give the same verdict. */
export function judge (series: Series, windows: RunWindows, init: VerdictInit = {}): VerdictResult {
  const th = thresholdsOf(init)
  const n = series.online.length
  const baseline = baselineOf(series, windows, th.baselineShare)
  const B = baseline.online
  const triggerEndMs = windows.storm?.endMs ?? windows.warmupEndMs
  const triggerEndS = (triggerEndMs - series.startMs) / 1000
  const sustain = Math.max(1, Math.ceil(th.sustainMs / series.bucketMs))
  const endLen = Math.max(1, Math.ceil(th.endWindowMs / series.bucketMs))
  const target = th.recoverShare * B

  // First bucket sampled at or after the trigger's end from which online holds the target.
  let first = 0
  while (first < n && bucketEndMs(series, first) < triggerEndMs) first++
  let recoveredBucket: number | null = null
  for (let i = first; B > 0 && i + sustain <= n; i++) {
    let ok = true
    for (let j = i; j < i + sustain; j++) if ((series.online[j] as number) < target) { ok = false; break }
    if (ok) { recoveredBucket = i; break }
  }
  const recoveryS = recoveredBucket === null ? null : Math.max(0, (bucketEndMs(series, recoveredBucket) - triggerEndMs) / 1000)

  const endFrom = Math.max(first, n - endLen)
  const endOnline = rangeMean(series.online, endFrom, n)
  const prevFrom = Math.max(first, endFrom - endLen)
  const prevOnline = prevFrom < endFrom ? rangeMean(series.online, prevFrom, endFrom) : endOnline
  const rising = B > 0 && endOnline - prevOnline >= th.risingShare * B
  const endShare = B > 0 ? endOnline / B : null
  const floor = th.floorShare * B
  const observedS = (series.startMs + n * series.bucketMs - triggerEndMs) / 1000
  const trigger = windows.storm === null ? 'warm-up' : 'storm'
  const reasons: string[] = []
  let verdict: Verdict

  const endText = `at the end (last ${fmt(th.endWindowMs / 1000)} s) ${fmt(endOnline)} peers online, ${endShare === null ? 'n/a' : pct(endShare)} of the baseline ${fmt(B)}`
  if (B <= 0) {
    verdict = 'degraded'
    reasons.push('no peer was online during the warm-up: there is no baseline to recover to (the network never came up)')
  } else if (recoveredBucket !== null && endOnline >= floor) {
    verdict = 'recovered'
    reasons.push(windows.storm === null
      ? `no storm in this run; online at ≥ ${pct(th.recoverShare)} of the baseline ${fmt(B)} from ${fmt(recoveryS ?? 0)} s after the warm-up`
      : `online back to ≥ ${pct(th.recoverShare)} of the baseline ${fmt(B)} ${fmt(recoveryS ?? 0)} s after the storm ended, held for ${fmt(sustain * series.bucketMs / 1000)} s`)
    reasons.push(endText)
  } else if (recoveredBucket !== null && windows.storm === null) {
    verdict = 'degraded'
    reasons.push(`no storm in this run, yet online fell after the warm-up: ${endText}, below the floor of ${pct(th.floorShare)}: the network is down without a trigger`)
  } else if (recoveredBucket !== null) {
    verdict = 'metastable'
    reasons.push(`online was back to ${pct(th.recoverShare)} of the baseline ${fmt(recoveryS ?? 0)} s after the storm ended, then fell again`)
    reasons.push(`${endText}: below the floor of ${pct(th.floorShare)} (relapse after the trigger ended)`)
  } else if (endOnline >= floor && windows.storm !== null && !rising && zeroGoodput(series, endFrom, n)) {
    // Above the floor, but the peers still out are retrying and none gets through:
    // permanent overload with goodput near zero (Bronson et al.), not a slow recovery.
    verdict = 'metastable'
    reasons.push(`online never got back to ${pct(th.recoverShare)} of the baseline ${fmt(B)} after the storm ended; ${endText}`)
    reasons.push('in the end window peers keep trying and none gets through (goodput zero under load): the trigger has ended but the bad state persists (metastable failure)')
  } else if (endOnline >= floor) {
    verdict = 'degraded'
    reasons.push(`online never got back to ${pct(th.recoverShare)} of the baseline ${fmt(B)} after the ${trigger} ended`)
    reasons.push(`${endText}: at or above the floor of ${pct(th.floorShare)}`)
  } else if (rising) {
    verdict = 'degraded'
    reasons.push(`online never got back to ${pct(th.recoverShare)} of the baseline ${fmt(B)}; ${endText}, below the floor of ${pct(th.floorShare)}`)
    reasons.push(`but still rising (+${fmt(endOnline - prevOnline)} peers over the last ${fmt(th.endWindowMs / 1000)} s): observe longer`)
  } else if (windows.storm === null) {
    verdict = 'degraded'
    reasons.push(`no storm in this run, yet ${endText}, below the floor of ${pct(th.floorShare)}: the network is down without a trigger`)
  } else {
    verdict = 'metastable'
    reasons.push(`${fmt(observedS)} s after the storm ended, ${endText}: below the floor of ${pct(th.floorShare)} and not rising`)
    reasons.push('the trigger has ended but the bad state persists (metastable failure)')
  }
  if (verdict !== 'recovered') reasons.push(...sustainingHints(series, endFrom, n, baseline))
  if (observedS * 1000 < th.observeMinMs) reasons.push(`only ${fmt(observedS)} s observed after the ${trigger} ended (< ${fmt(th.observeMinMs / 1000)} s): too short to judge with confidence`)
  return { verdict, reasons, recoveryS, recoveredBucket, baseline, triggerEndS, endOnline, endShare, rising, thresholds: th }
}

/**
 * Goodput zero under load in [from, to): logins are tried and none succeeds, or
 * attaches are tried and none succeeds.
 */
export function zeroGoodput (series: Series, from: number, to: number): boolean {
  const sum = (a: readonly number[]): number => a.slice(from, to).reduce((x, y) => x + y, 0)
  const loginFailed = sum(series.loginRejected) + sum(series.loginBusy) + sum(series.loginTimeout) + sum(series.loginOther)
  const attachFailed = sum(series.attachBusy) + sum(series.attachTimeout) + sum(series.attachOther)
  return (loginFailed > 0 && sum(series.loginOk) === 0) || (attachFailed > 0 && sum(series.attachOk) === 0)
}

/** What the end window shows about the sustaining effect: failing attaches and logins, missing supernodes. */
function sustainingHints (series: Series, from: number, to: number, baseline: Baseline): string[] {
  const seconds = ((to - from) * series.bucketMs) / 1000
  if (seconds <= 0) return []
  const sum = (a: readonly number[]): number => a.slice(from, to).reduce((x, y) => x + y, 0)
  const out: string[] = []
  const failed = sum(series.attachBusy) + sum(series.attachTimeout) + sum(series.attachOther)
  if (failed > 0) out.push(`in the end window ${fmt(failed / seconds)} failed attaches/s (busy ${sum(series.attachBusy)}, timeout ${sum(series.attachTimeout)}, other ${sum(series.attachOther)}) against ${fmt(sum(series.attachOk) / seconds)} ok/s`)
  const lf = sum(series.loginRejected) + sum(series.loginBusy) + sum(series.loginTimeout) + sum(series.loginOther)
  if (lf > 0) out.push(`in the end window ${fmt(lf / seconds)} failed logins/s against ${fmt(sum(series.loginOk) / seconds)} ok/s`)
  const sn = rangeMean(series.supernodes, from, to)
  if (baseline.supernodes > 0 && sn < baseline.supernodes) out.push(`supernodes at the end ${fmt(sn)} against ${fmt(baseline.supernodes)} in the baseline`)
  return out
}
