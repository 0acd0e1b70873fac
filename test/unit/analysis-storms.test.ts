/**
 * Every storm judged on its own segment (analysis/storms.ts): a history where the
 * first patch day heals and the second tips the network, a population that grew
 * between them, and storm windows from the orchestrator's lines.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeStorms, stormWindows, truncateSeries } from '../../orchestrator/analysis/storms.ts'
import type { Series } from '../../orchestrator/analysis/series.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)

/** A 1 s series with these online counts (supernodes a tenth of them), every other column empty. */
function series (online: number[]): Series {
  const n = online.length
  const zeros = (): number[] => new Array<number>(n).fill(0)
  const nulls = (): Array<number | null> => new Array<number | null>(n).fill(null)
  return {
    startMs: T0, bucketMs: 1000, t: online.map((_, i) => i + 1), online, attaching: zeros(), supernodes: online.map(o => Math.round(o / 10)),
    clientsPerSnMedian: zeros(), clientsPerSnMax: zeros(), attachOk: zeros(), attachBusy: zeros(), attachTimeout: zeros(), attachOther: zeros(),
    loginOk: zeros(), loginRejected: zeros(), loginBusy: zeros(), loginTimeout: zeros(), loginOther: zeros(), loginP50Ms: nulls(), loginP99Ms: nulls(), loginQueueMs: nulls(),
    msgsPerClientS: nulls(), peersPerClient: nulls(), clientMsgs: zeros(), clientStatsS: zeros(), clientPeersSum: zeros(), clientReports: zeros(), hostCpuBusy: nulls(), hostLoad1: nulls()
  }
}

/** Online count per second from [until, value] steps: value holds up to (not including) `until`. */
function steps (...parts: Array<[number, number]>): number[] {
  const out: number[] = []
  for (const [until, v] of parts) while (out.length < until) out.push(v)
  return out
}

const at = (s: number): number => T0 + s * 1000
const run = (endS: number): { startMs: number, endMs: number, warmupStartMs: number, scenario: string } => ({ startMs: T0, endMs: at(endS), warmupStartMs: at(5), scenario: 'history' })

test('a history: the first patch day heals before the second, the second tips the network and it stays down', () => {
  // 20 online; storm a at 60-66 takes 8 down, all back by 80; calm; storm b at 150-156 leaves 4 online to the end.
  const s = series(steps([60, 20], [70, 12], [80, 16], [150, 20], [160, 4], [260, 4]))
  const storms = [{ id: 'a', startMs: at(60), endMs: at(66) }, { id: 'b', startMs: at(150), endMs: at(156) }]
  const j = judgeStorms(s, storms, run(260))
  assert.deepEqual(j.map(x => [x.id, x.verdict]), [['a', 'recovered'], ['b', 'metastable']])
  assert.equal(j[0]?.baselineOnline, 20)
  assert.equal(j[0]?.recoveryS, 15, 'back to 95% of 20 in bucket 80 (its sample at 81 s), 15 s after the storm ended at 66 s')
  // Storm a's segment ends where b starts: its end window is the calm before b, not the outage after it.
  assert.deepEqual(j[0]?.segmentS, { from: 5, to: 150 })
  assert.equal(j[0]?.endOnline, 20)
  assert.deepEqual(j[1]?.segmentS, { from: 66, to: 260 })
  assert.equal(j[1]?.baselineOnline, 20)
  assert.equal(j[1]?.recoveryS, null)
  assert.equal(j[1]?.endOnline, 4)
})

test('each storm is judged against the calm before it: a population that grew is measured at its new size', () => {
  // 20 online, then 40 after joins; storm b takes it back to 24 (above the first baseline, 60% of the second) and it stays.
  const s = series(steps([60, 20], [66, 14], [100, 20], [120, 30], [150, 40], [160, 24], [260, 24]))
  const j = judgeStorms(s, [{ id: 'a', startMs: at(60), endMs: at(66) }, { id: 'b', startMs: at(150), endMs: at(156) }], run(260))
  assert.equal(j[1]?.baselineOnline, 40)
  assert.equal(j[1]?.verdict, 'degraded', '24 of 40: not back, above the 50% floor')
  assert.equal(j[0]?.verdict, 'recovered')
})

test('one storm: the same verdict as the whole run would get over the same windows', () => {
  const s = series(steps([60, 20], [70, 4], [200, 4]))
  const j = judgeStorms(s, [{ id: 'only', startMs: at(60), endMs: at(66) }], run(200))
  assert.equal(j.length, 1)
  assert.equal(j[0]?.verdict, 'metastable')
  assert.deepEqual(j[0]?.segmentS, { from: 5, to: 200 })
})

test('stormWindows: one per id from its first plan to its end, in order of start; orchestrator lines only', () => {
  const ev = (s: number, peer: string, e: Record<string, unknown>): PeerEvent => ({ time: at(s), level: 30, run: 'r', peer, inc: 1, role: 'orchestrator', ...e }) as unknown as PeerEvent
  const events = [
    ev(10, 'orchestrator', { ev: 'storm.plan', stormId: 'b', ops: 2, targets: 1, windowMs: 1000, shape: 'uniform', seed: 's' }),
    ev(11, 'orchestrator', { ev: 'storm.plan', stormId: 'b', ops: 2, targets: 1, windowMs: 1000, shape: 'uniform', seed: 's' }),
    ev(15, 'orchestrator', { ev: 'storm.end', stormId: 'b', ok: 2, failed: 0 }),
    ev(5, 'p-001', { ev: 'storm.plan', stormId: 'x', ops: 2, targets: 1, windowMs: 1000, shape: 'uniform', seed: 's' }),
    ev(30, 'orchestrator', { ev: 'storm.plan', stormId: 'c', ops: 2, targets: 1, windowMs: 1000, shape: 'uniform', seed: 's' })
  ].sort((a, b) => a.time - b.time)
  assert.deepEqual(stormWindows(events, at(99)), [{ id: 'b', startMs: at(10), endMs: at(15) }, { id: 'c', startMs: at(30), endMs: at(99) }])
})

test('truncateSeries cuts every column and keeps the rest', () => {
  const s = truncateSeries(series(steps([10, 3])), 4)
  assert.equal(s.online.length, 4)
  assert.equal(s.loginP99Ms.length, 4)
  assert.equal(s.startMs, T0)
})

test('run --check compares each storm\'s own verdict with its expect; a planned storm the report lacks is missing', async () => {
  const { stormChecks } = await import('../../orchestrator/commands/run.ts')
  const loaded = { scenario: { storms: [{ storm: { id: 'a' }, expect: 'recovered' }, { storm: { id: 'b' }, expect: 'metastable' }, { storm: { id: 'c' } }] } }
  const report = { storms: [{ id: 'a', verdict: 'recovered', recoveryS: 3 }, { id: 'b', verdict: 'degraded', recoveryS: null }] }
  assert.deepEqual(stormChecks({ loaded, report } as never), [
    { id: 'a', verdict: 'recovered', expect: 'recovered', recoveryS: 3 },
    { id: 'b', verdict: 'degraded', expect: 'metastable', recoveryS: null },
    { id: 'c', verdict: 'missing', expect: null, recoveryS: null }
  ])
})
