import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Series } from '../../orchestrator/analysis/series.ts'
import { amplification, SIGNALLING_2007_RATIO, PEERS_CONTACTED_2007_RATIO } from '../../orchestrator/analysis/amplification.ts'
import { analyseRun } from '../../orchestrator/analysis/report.ts'
import { FIXTURE_NAMES, loadFixture } from '../fixtures/analysis/load.ts'

const near = (got: number | null, want: number, rel: number, what: string): void => {
  assert.ok(got !== null && Math.abs(got - want) <= rel * want, `${what}: ${got} vs ${want} (±${rel * 100}%)`)
}

for (const name of FIXTURE_NAMES) {
  test(`amplification of ${name} matches the constructed rates`, async () => {
    const f = await loadFixture(name)
    const a = analyseRun(f.meta, f.events).amplification
    // Calm rates: 5 msgs/s and 2 peers per interval per client; supernodes (12 msgs/s) must not count.
    near(a.signalling.baseline, 5, 0.02, 'baseline signalling')
    near(a.peersContacted.baseline, 2, 0.02, 'baseline peers contacted')
    // Window edges mix calm and storm stats intervals: the mean is within 10%, the peak within 5%.
    near(a.signalling.meanRatio, f.expected.signallingRatio, 0.1, 'signalling mean ratio')
    near(a.peersContacted.meanRatio, f.expected.peersRatio, 0.1, 'peers mean ratio')
    near(a.signalling.peakRatio, f.expected.signallingRatio, 0.05, 'signalling peak ratio')
    near(a.peersContacted.peakRatio, f.expected.peersRatio, 0.05, 'peers peak ratio')
    assert.equal(a.window, name === 'calm' ? 'observe' : 'storm')
    assert.equal(a.signalling.measured2007, SIGNALLING_2007_RATIO)
    assert.equal(a.peersContacted.measured2007, PEERS_CONTACTED_2007_RATIO)
  })
}

test('the storm window runs from the storm to recovery, or to the end when never recovered', async () => {
  const rec = analyseRun(...await args('storm-recovers'))
  assert.equal(rec.amplification.windowS.from, 60)
  assert.equal(rec.amplification.windowS.to, 72 + (rec.recoveryS as number))
  const never = analyseRun(...await args('never-heals'))
  assert.equal(never.amplification.windowS.to, 150)
  assert.deepEqual(never.amplification.baselineS, { from: 42, to: 60 })
})

async function args (name: 'storm-recovers' | 'never-heals'): Promise<Parameters<typeof analyseRun>> {
  const f = await loadFixture(name)
  return [f.meta, f.events]
}

test('exact ratios on constructed sums: means are ratios of sums, peaks the best bucket', () => {
  const n = 10
  const z = Array.from({ length: n }, () => 0)
  const series = {
    startMs: 0, bucketMs: 1000, t: z.map((_, i) => i + 1),
    // Buckets 0..4 calm: 10 msgs over 2 client-seconds (5/s), 2 peers per report.
    // Buckets 5..9 storm: 30 msgs over 2 s (15/s), 20 peers per report; bucket 7 peaks at 25/s and 30 peers.
    clientMsgs: [10, 10, 10, 10, 10, 30, 30, 50, 30, 30],
    clientStatsS: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    clientPeersSum: [4, 4, 4, 4, 4, 40, 40, 60, 40, 40],
    clientReports: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    msgsPerClientS: [5, 5, 5, 5, 5, 15, 15, 25, 15, 15],
    peersPerClient: [2, 2, 2, 2, 2, 20, 20, 30, 20, 20]
  } as unknown as Series
  const a = amplification(series, { from: 0, to: 5 }, { from: 5, to: 10 })
  assert.equal(a.signalling.baseline, 5)
  assert.equal(a.signalling.mean, 17)
  assert.equal(a.signalling.meanRatio, 3.4)
  assert.equal(a.signalling.peakRatio, 5)
  assert.equal(a.peersContacted.meanRatio, 11)
  assert.equal(a.peersContacted.peakRatio, 15)
  assert.deepEqual(a.windowS, { from: 5, to: 10 })
  // No reports in the baseline: no ratio rather than infinity.
  const empty = amplification(series, { from: 0, to: 0 }, { from: 5, to: 10 })
  assert.equal(empty.signalling.meanRatio, null)
  assert.equal(empty.peersContacted.peakRatio, null)
})
