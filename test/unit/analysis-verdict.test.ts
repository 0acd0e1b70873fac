import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Series } from '../../orchestrator/analysis/series.ts'
import { judge, findWindows, type RunWindows } from '../../orchestrator/analysis/verdict.ts'
import { analyseRun } from '../../orchestrator/analysis/report.ts'
import { FIXTURE_NAMES, loadFixture } from '../fixtures/analysis/load.ts'

/** A series with only `online` (and supernodes) set: enough for the checker. */
function onlineSeries (online: number[], bucketMs = 1000): Series {
  const zeros = online.map(() => 0)
  const nulls = online.map(() => null)
  return {
    startMs: 0, bucketMs, t: online.map((_, i) => ((i + 1) * bucketMs) / 1000), online, attaching: zeros, supernodes: online.map(() => 3),
    clientsPerSnMedian: zeros, clientsPerSnMax: zeros, attachOk: zeros, attachBusy: zeros, attachTimeout: zeros, attachOther: zeros,
    loginOk: zeros, loginRejected: zeros, loginBusy: zeros, loginTimeout: zeros, loginOther: zeros, loginP50Ms: nulls, loginP99Ms: nulls, loginQueueMs: nulls,
    msgsPerClientS: nulls, peersPerClient: nulls, clientMsgs: zeros, clientStatsS: zeros, clientPeersSum: zeros, clientReports: zeros,
    hostCpuBusy: nulls, hostLoad1: nulls
  }
}
/** Online `base` for 60 s, storm 60..70 s, then `after(t)` until `end` s. */
function shaped (after: (tS: number) => number, end = 150, base = 20): { series: Series, windows: RunWindows } {
  const online: number[] = []
  for (let t = 1; t <= end; t++) online.push(t <= 60 ? base : t <= 70 ? Math.round(base / 4) : after(t))
  return { series: onlineSeries(online), windows: { startMs: 0, endMs: end * 1000, warmupStartMs: 0, warmupEndMs: 60_000, storm: { startMs: 60_000, endMs: 70_000, ids: ['s'] }, scenario: null } }
}

for (const name of FIXTURE_NAMES) {
  test(`verdict of ${name} is the constructed one`, async () => {
    const f = await loadFixture(name)
    const r = analyseRun(f.meta, f.events)
    assert.equal(r.verdict, f.expected.verdict, r.reasons.join('; '))
    assert.equal(r.baseline.online, f.expected.baselineOnline)
    assert.ok(r.reasons.length > 0)
    if (f.expected.recoveryS === null) {
      assert.equal(r.recoveryS, null)
    } else {
      // Sampled at bucket ends: at most one bucket late, never early.
      const got = r.recoveryS as number
      assert.ok(got >= f.expected.recoveryS - 1e-9 && got <= f.expected.recoveryS + r.series.bucketMs / 1000, `recovery ${got} s vs constructed ${f.expected.recoveryS} s`)
    }
  })
}

test('negative: the run that never heals is judged metastable, with the reasons why', async () => {
  const f = await loadFixture('never-heals')
  const r = analyseRun(f.meta, f.events)
  assert.equal(r.verdict, 'metastable')
  assert.notEqual(r.verdict, 'recovered')
  assert.equal(r.recoveryS, null)
  assert.ok(r.reasons.some(s => s.includes('below the floor')))
  assert.ok(r.reasons.some(s => s.includes('supernodes at the end')))
})

test('negative: the checker fails a recovering run cut off before it recovers', async () => {
  const f = await loadFixture('storm-recovers')
  const w = findWindows(f.events)
  const cut = (w.storm?.endMs as number) + 6000
  const r = analyseRun(f.meta, f.events.filter(e => e.time < cut))
  assert.notEqual(r.verdict, 'recovered')
  assert.equal(r.recoveryS, null)
  assert.ok(r.reasons.some(s => s.includes('too short to judge')))
})

test('calm run: recovered from the end of warm-up, judged after the warm-up, no storm window', async () => {
  const f = await loadFixture('calm')
  const r = analyseRun(f.meta, f.events)
  assert.equal(r.verdict, 'recovered')
  assert.equal(r.recoveryS, 0)
  assert.equal(r.windows.stormS, null)
  assert.equal(r.windows.triggerEndS, 60)
})

test('storm window from the journal, warm-up from the phase markers, end at done', async () => {
  const f = await loadFixture('storm-recovers')
  const w = findWindows(f.events)
  const t0 = f.events[0]?.time as number
  assert.equal(w.storm?.startMs, t0 + 60_001)
  assert.equal(w.storm?.endMs, t0 + 72_000)
  assert.equal(w.warmupEndMs, t0 + 60_001)
  assert.equal(w.endMs, t0 + 150_000)
  assert.equal(w.scenario, 'skype-2007-tuned')
  // Without the journal, the run.phase markers give the window.
  const phases = findWindows(f.events.filter(e => e.ev !== 'storm.plan' && e.ev !== 'storm.end'))
  assert.equal(phases.storm?.startMs, t0 + 60_000)
  assert.equal(phases.storm?.endMs, t0 + 72_001)
})

test('flat below the floor after the storm: metastable', () => {
  const { series, windows } = shaped(() => 6)
  const v = judge(series, windows)
  assert.equal(v.verdict, 'metastable')
  assert.equal(v.recoveryS, null)
  assert.equal(v.endShare, 0.3)
})

test('back within 12 s: recovered with that recovery time', () => {
  const { series, windows } = shaped(t => t <= 82 ? 10 : 20)
  const v = judge(series, windows)
  assert.equal(v.verdict, 'recovered')
  assert.equal(v.recoveryS, 13) // bucket 82 (ending at 83 s) is the first at 20
})

test('a one-bucket blip is not a recovery (sustain)', () => {
  const { series, windows } = shaped(t => t === 90 ? 20 : 6)
  assert.equal(judge(series, windows).verdict, 'metastable')
  assert.equal(judge(series, windows, { sustainMs: 1000 }).verdict, 'metastable') // recovered, then relapsed
  assert.equal(judge(series, windows, { sustainMs: 1000 }).recoveryS, 20)
})

test('below the floor but still rising: degraded', () => {
  const { series, windows } = shaped(t => Math.min(9, Math.floor((t - 70) / 8)))
  const v = judge(series, windows)
  assert.equal(v.rising, true)
  assert.equal(v.verdict, 'degraded')
})

test('not back to 95% but above the floor: degraded; the floor is a parameter', () => {
  const { series, windows } = shaped(() => 14)
  assert.equal(judge(series, windows).verdict, 'degraded')
  assert.equal(judge(series, windows, { floorShare: 0.8 }).verdict, 'metastable')
  assert.equal(judge(series, windows, { recoverShare: 0.7 }).verdict, 'recovered')
})

test('a calm run is never metastable: down without a trigger is degraded', () => {
  const online = Array.from({ length: 150 }, (_, i) => i < 80 ? 20 : 2)
  const windows: RunWindows = { startMs: 0, endMs: 150_000, warmupStartMs: 0, warmupEndMs: 60_000, storm: null, scenario: null }
  const v = judge(onlineSeries(online), windows)
  assert.equal(v.verdict, 'degraded')
  assert.ok(v.reasons.some(s => s.includes('without a trigger')))
  assert.equal(judge(onlineSeries(online.map(() => 20)), windows).verdict, 'recovered')
})

test('a network that never came up has no baseline: degraded, not recovered', () => {
  const { series, windows } = shaped(() => 0, 150, 0)
  const v = judge(series, windows)
  assert.equal(v.verdict, 'degraded')
  assert.equal(v.recoveryS, null)
})

test('calm run without any phase markers: the first 30% is warm-up, the end is just after the last line', async () => {
  const f = await loadFixture('calm')
  const peersOnly = f.events.filter(e => e.peer !== 'orchestrator' && e.time < (f.events[0]?.time as number) + 100_000)
  // With net.steady, the warm-up ends there.
  const t0 = f.events[0]?.time as number
  assert.equal(findWindows(f.events.filter(e => e.ev !== 'run.phase')).warmupEndMs, t0 + 12_000)
  const w = findWindows(peersOnly)
  const first = peersOnly[0]?.time as number
  const last = peersOnly[peersOnly.length - 1]?.time as number
  assert.equal(w.storm, null)
  assert.equal(w.endMs, last + 1)
  assert.equal(w.warmupEndMs, first + 0.3 * (last + 1 - first))
  assert.equal(findWindows(peersOnly, 0.5).warmupEndMs, first + 0.5 * (last + 1 - first))
})

test('without a done marker the run ends where the teardown before net.down begins', async () => {
  const f = await loadFixture('calm')
  const t0 = f.events[0]?.time as number
  const noDone = f.events.filter(e => !(e.ev === 'run.phase' && e.phase === 'done'))
  const w = findWindows(noDone)
  assert.equal(w.endMs, t0 + 150_000 + 300 + 10) // p-001's shutdown, the first of the teardown
  const r = analyseRun(f.meta, noDone)
  assert.equal(r.verdict, 'recovered')
  assert.equal(r.series.online[r.series.online.length - 1], 20)
})
