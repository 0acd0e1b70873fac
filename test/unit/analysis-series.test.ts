import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { PeerEvent, EventName, EventPayloads, Role } from '../../node/contract/events.ts'
import { buildSeries, quantile, bucketIndex } from '../../orchestrator/analysis/series.ts'
import { analyseRun } from '../../orchestrator/analysis/report.ts'
import { findWindows } from '../../orchestrator/analysis/verdict.ts'
import { FIXTURE_NAMES, loadFixture } from '../fixtures/analysis/load.ts'

const T0 = 1_000_000
function ev<E extends EventName> (ms: number, peer: string, inc: number, role: Role, name: E, fields: EventPayloads[E]): PeerEvent {
  return { time: T0 + ms, run: 'r', peer, inc, role, ev: name, ...fields } as unknown as PeerEvent
}
const stats = (msgs: number, peersInterval: number): EventPayloads['stats'] => ({
  msgsSent: msgs, msgsRecv: 0, bytesSent: 0, bytesRecv: 0, peersContacted: 0, peersContactedInterval: peersInterval,
  dialsOk: 0, dialsFailed: 0, cpuUserUs: 0, cpuSystemUs: 0, rssBytes: 0
})
const boot: EventPayloads['boot'] = { pid: 1, addr: '/ip4/127.0.0.1/tcp/1', capacityClass: 1, bootstrap: false, hostCacheSize: 0, firstBoot: true, cpuUs: 1 }

for (const name of FIXTURE_NAMES) {
  test(`series of ${name}: online and supernodes at the constructed instants`, async () => {
    const f = await loadFixture(name)
    const s = analyseRun(f.meta, f.events).series
    for (const [sec, want] of Object.entries(f.expected.onlineAt)) {
      // Bucket i ends at t[i] seconds: the state sampled there.
      assert.equal(s.online[Number(sec) - 1], want, `online at ${sec} s`)
      assert.equal(s.t[Number(sec) - 1], Number(sec))
    }
    for (const [sec, want] of Object.entries(f.expected.supernodesAt)) assert.equal(s.supernodes[Number(sec) - 1], want, `supernodes at ${sec} s`)
  })

  test(`series of ${name}: attach and login outcomes add up to the generated events`, async () => {
    const f = await loadFixture(name)
    const s = analyseRun(f.meta, f.events).series
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0)
    const c = f.expected.counts
    assert.equal(sum(s.attachOk), c.attachOk)
    assert.equal(sum(s.attachBusy), c.attachFailed.busy ?? 0)
    assert.equal(sum(s.attachTimeout), c.attachFailed.timeout ?? 0)
    assert.equal(sum(s.attachOther), 0)
    assert.equal(sum(s.loginOk), c.loginsOk)
    assert.equal(sum(s.loginBusy), c.loginsFailed.busy ?? 0)
    assert.equal(sum(s.loginTimeout), c.loginsFailed.timeout ?? 0)
    assert.equal(sum(s.loginRejected), c.loginsFailed.rejected ?? 0)
  })
}

test('a SIGKILLed peer goes offline with the journal\'s kill line, not its own', async () => {
  const f = await loadFixture('never-heals')
  const withoutJournal = f.events.filter(e => e.ev !== 'storm.op')
  const w = findWindows(f.events)
  const s = buildSeries(withoutJournal, { fromMs: w.startMs, toMs: w.endMs, expectedPeers: 20 })
  // Without the journal the killed peers look online until their next incarnation boots.
  assert.ok((s.online[61] as number) > (f.expected.onlineAt['62'] as number))
})

test('the network being taken down after the done marker is not part of the series', async () => {
  const f = await loadFixture('calm')
  const r = analyseRun(f.meta, f.events)
  assert.equal(r.series.t.length, 150)
  assert.equal(r.series.online[r.series.online.length - 1], 20)
  assert.ok(f.events.some(e => e.ev === 'shutdown' && e.time > r.series.startMs + 150_000), 'the fixture does shut down after done')
})

test('per-bucket rates come from stats deltas since boot, per incarnation, clients only', () => {
  const events: PeerEvent[] = [
    ev(0, 'p-001', 1, 'client', 'boot', boot),
    ev(100, 'p-002', 1, 'supernode', 'boot', boot),
    ev(2000, 'p-001', 1, 'client', 'stats', stats(20, 3)), // 20 msgs in 2 s: 10/s
    ev(2050, 'p-002', 1, 'supernode', 'stats', stats(999, 50)), // supernode: not counted
    ev(4000, 'p-001', 1, 'client', 'stats', stats(80, 5)), // 60 msgs in 2 s: 30/s
    ev(4500, 'p-001', 2, 'client', 'boot', boot), // restart: counters start again
    ev(5500, 'p-001', 2, 'client', 'stats', stats(4, 1)) // 4 msgs in 1 s
  ]
  const s = buildSeries(events, { bucketMs: 1000 })
  assert.equal(s.msgsPerClientS[2], 10)
  assert.equal(s.peersPerClient[2], 3)
  assert.equal(s.msgsPerClientS[4], 30)
  assert.equal(s.msgsPerClientS[5], 4)
  assert.equal(s.peersPerClient[5], 1)
  assert.equal(s.msgsPerClientS[1], null)
  assert.equal(s.clientMsgs[2], 20)
  assert.equal(s.clientStatsS[2], 2)
})

test('login latency quantiles, outcomes and host samples per bucket', () => {
  const events: PeerEvent[] = [ev(0, 'orchestrator', 1, 'orchestrator', 'run.phase', { phase: 'warmup', scenario: 'x' })]
  for (let i = 1; i <= 100; i++) events.push(ev(1000 + i, 'p-001', 1, 'client', 'login.ok', { latencyMs: i, attempt: 1 }))
  events.push(ev(1500, 'p-002', 1, 'client', 'login.failed', { reason: 'busy', latencyMs: 1, attempt: 1 }))
  events.push(ev(1600, 'p-002', 1, 'client', 'attach.failed', { sn: 'p-009', reason: 'refused', latencyMs: 1, round: 1 }))
  events.push(ev(2100, 'orchestrator', 1, 'orchestrator', 'host.sample', { cpuBusy: 0.5, load1: 1, memAvailableBytes: 1, cores: 2 }))
  events.push(ev(2600, 'orchestrator', 1, 'orchestrator', 'host.sample', { cpuBusy: 0.7, load1: 3, memAvailableBytes: 1, cores: 2 }))
  const s = buildSeries(events)
  assert.equal(s.loginP50Ms[1], 50)
  assert.equal(s.loginP99Ms[1], 99)
  assert.equal(s.loginOk[1], 100)
  assert.equal(s.loginBusy[1], 1)
  assert.equal(s.attachOther[1], 1)
  assert.equal(s.loginP50Ms[0], null)
  assert.ok(Math.abs((s.hostCpuBusy[2] as number) - 0.6) < 1e-9)
  assert.equal(s.hostLoad1[2], 2)
  assert.equal(bucketIndex(s, T0 + 2600), 2)
})

test('the login queue per bucket: the longest wait of a login the server served, busy and dropped answers aside', () => {
  const served = (ms: number, outcome: EventPayloads['login.served']['outcome'], queueMs: number): PeerEvent => ev(ms, 'login', 1, 'login', 'login.served', { account: 'a', outcome, queueMs, cpuUs: 1 })
  const s = buildSeries([
    ev(0, 'orchestrator', 1, 'orchestrator', 'run.phase', { phase: 'warmup', scenario: 'x' }),
    served(1100, 'ok', 300), served(1200, 'rejected', 4200), served(1300, 'busy', 0), served(2100, 'dropped', 0), served(3100, 'ok', 0)
  ])
  assert.deepEqual(s.loginQueueMs, [null, 4200, null, 0])
})

test('quantile is nearest-rank and empty input has none', () => {
  assert.equal(quantile([], 0.5), null)
  assert.equal(quantile([7], 0.99), 7)
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2)
  assert.equal(quantile([1, 2, 3, 4], 1), 4)
})

test('an empty timeline and a bad bucket are refused with AnalysisError', () => {
  assert.throws(() => buildSeries([]), { name: 'AnalysisError' })
  assert.throws(() => buildSeries([ev(0, 'p-001', 1, 'client', 'boot', boot)], { bucketMs: 0 }), { name: 'AnalysisError' })
  assert.throws(() => buildSeries([ev(0, 'p-001', 1, 'client', 'boot', boot)], { bucketMs: 1, toMs: T0 + 10_000_000 }), { name: 'AnalysisError' })
})
