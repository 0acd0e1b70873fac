/**
 * Every storm judged on its own (issue 9: a history of patch days). A run with
 * several storms gets one verdict per storm, from the same liveness checker as
 * the whole run (verdict.ts), on the storm's own segment of the timeline:
 *
 *   segment k: from the end of storm k-1 (the warm-up's start for the first)
 *              to the start of storm k+1 (the run's end for the last)
 *
 * Its baseline is the calm before storm k (the last part of the time between
 * the previous storm's end and this one's start, as the warm-up is for a single
 * storm), so a population that grew between patch days is judged against its
 * own size. Its "end" is the end of its segment: the moment just before the next
 * patch day, which is what "did the network heal before the next one" asks.
 * Pure: windows come from the orchestrator's `storm.plan` / `storm.end` lines.
 */
import type { PeerEvent } from '../../node/contract/events.ts'
import { type Series, bucketIndex } from './series.ts'
import { judge, type RunWindows, type Verdict, type VerdictInit } from './verdict.ts'
import { amplification, type Amplification } from './amplification.ts'

export interface StormWindow { id: string, startMs: number, endMs: number }

export interface StormJudgement {
  id: string
  verdict: Verdict
  reasons: string[]
  /** Seconds since the series' start: the storm (first plan to its end) and its segment. */
  stormS: { from: number, to: number }
  segmentS: { from: number, to: number }
  /** Real seconds from the storm's end until online was back to the recover share of its baseline; null if never. */
  recoveryS: number | null
  /** Mean online peers in the calm before this storm, and at the end of its segment. */
  baselineOnline: number
  baselineSupernodes: number
  endOnline: number
  endShare: number | null
  amplification: Amplification
}

/**
 * One window per storm id, in order of start: from its first `storm.plan` to its `storm.end`
 * (a storm that never ended: to the run's end). Storms are the orchestrator's lines only.
 */
export function stormWindows (events: readonly PeerEvent[], runEndMs: number): StormWindow[] {
  const byId = new Map<string, StormWindow>()
  for (const e of events) {
    if (e.peer !== 'orchestrator') continue
    if (e.ev === 'storm.plan' && !byId.has(e.stormId)) byId.set(e.stormId, { id: e.stormId, startMs: e.time, endMs: runEndMs })
    else if (e.ev === 'storm.end') {
      const w = byId.get(e.stormId)
      if (w !== undefined && e.time >= w.startMs) w.endMs = e.time
    }
  }
  return [...byId.values()].sort((a, b) => a.startMs - b.startMs)
}

/** The series cut to its first `buckets` buckets (judge() takes a series' end as the observation's end). */
export function truncateSeries (series: Series, buckets: number): Series {
  const n = Math.max(1, Math.min(series.t.length, buckets))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(series)) out[k] = Array.isArray(v) ? v.slice(0, n) : v
  return out as unknown as Series
}

/**
 * Judge each storm on its segment. `run` gives the warm-up start (the first segment's
 * start) and the run's end. Overlapping storms are judged as given; the reasons say so.
 */
export function judgeStorms (series: Series, storms: readonly StormWindow[], run: Pick<RunWindows, 'warmupStartMs' | 'endMs' | 'scenario' | 'startMs'>, init: VerdictInit = {}): StormJudgement[] {
  const rel = (ms: number): number => (ms - series.startMs) / 1000
  return storms.map((st, k) => {
    const prev = storms[k - 1]
    const next = storms[k + 1]
    const segFromMs = prev === undefined ? run.warmupStartMs : Math.min(prev.endMs, st.startMs)
    const segToMs = next === undefined ? run.endMs : Math.max(next.startMs, st.endMs)
    const cut = truncateSeries(series, bucketIndex(series, segToMs))
    const windows: RunWindows = { startMs: run.startMs, endMs: segToMs, warmupStartMs: segFromMs, warmupEndMs: st.startMs, storm: { startMs: st.startMs, endMs: st.endMs, ids: [st.id] }, scenario: run.scenario }
    const v = judge(cut, windows, init)
    const reasons = [...v.reasons]
    if (next !== undefined && next.startMs < st.endMs) reasons.push(`storm ${next.id} started before this one ended: the two are judged together`)
    const n = cut.t.length
    const from = bucketIndex(cut, st.startMs)
    const stormEnd = bucketIndex(cut, st.endMs) + 1
    const to = v.recoveredBucket === null ? n : Math.max(stormEnd, v.recoveredBucket + 1)
    return {
      id: st.id,
      verdict: v.verdict,
      reasons,
      stormS: { from: rel(st.startMs), to: rel(st.endMs) },
      segmentS: { from: rel(segFromMs), to: rel(segToMs) },
      recoveryS: v.recoveryS,
      baselineOnline: v.baseline.online,
      baselineSupernodes: v.baseline.supernodes,
      endOnline: v.endOnline,
      endShare: v.endShare,
      amplification: amplification(cut, { from: v.baseline.fromBucket, to: v.baseline.toBucket }, { from, to: Math.min(n, to) }, 'storm')
    }
  })
}
