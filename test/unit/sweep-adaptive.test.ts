/**
 * Sweeps that answer with probabilities, on a fake runner (no network): the
 * Wilson interval, the bisection that locates where the outcome flips, the
 * executor that refines a grid until the boundary is within the resolution,
 * counts a network that never formed as a finding, and resumes a stopped sweep
 * reusing every run that ended in evidence.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { wilson, cellStats } from '../../orchestrator/sweep/stats.ts'
import { refineBoundary } from '../../orchestrator/sweep/refine.ts'
import { executeSweep, type CellRunner, type SweepResult } from '../../orchestrator/sweep/execute.ts'
import { createRng } from '../../node/contract/rng.ts'
import type { Scenario } from '../../orchestrator/scenario/schema.ts'

test('the Wilson interval: known values, exact ends, nothing known at n = 0', () => {
  const w = wilson(1, 2)
  assert.ok(Math.abs(w.lo - 0.0945) < 1e-3 && Math.abs(w.hi - 0.9055) < 1e-3, JSON.stringify(w))
  assert.deepEqual(wilson(0, 0), { lo: 0, hi: 1 })
  assert.equal(wilson(0, 3).lo, 0)
  assert.equal(wilson(3, 3).hi, 1)
  assert.ok(Math.abs(wilson(0, 3).hi - 0.5615) < 1e-3)
  // More trials, narrower interval.
  assert.ok(wilson(15, 30).hi - wilson(15, 30).lo < wilson(1, 2).hi - wilson(1, 2).lo)
  assert.throws(() => wilson(3, 2), RangeError)
})

test('cell statistics: errors are not trials, never-formed trials are counted but not judged', () => {
  const s = cellStats(['recovered', 'metastable', 'never-formed', 'error', 'metastable'])
  assert.equal(s.trials, 4)
  assert.equal(s.formed, 3)
  assert.equal(s.metastable.k, 2)
  assert.equal(s.metastable.share, 2 / 3)
  assert.equal(cellStats(['never-formed']).metastable.share, null)
})

test('refinement bisects the first flip to a metastable majority until it is within the resolution', () => {
  const pts = (ps: Array<[number, number, number]>): Array<{ share: number, metastable: number, formed: number }> => ps.map(([share, metastable, formed]) => ({ share, metastable, formed }))
  let r = refineBoundary(pts([[0.1, 0, 3], [0.3, 0, 3], [0.5, 3, 3], [0.7, 3, 3]]))
  assert.deepEqual(r.boundary, { below: 0.3, above: 0.5 })
  assert.equal(r.next, 0.4)
  r = refineBoundary(pts([[0.1, 0, 3], [0.3, 0, 3], [0.4, 1, 3], [0.5, 3, 3]]))
  assert.equal(r.next, 0.45, '1 of 3 is not a majority: the flip is above 0.4')
  r = refineBoundary(pts([[0.3, 0, 3], [0.4, 1, 3], [0.45, 2, 3], [0.5, 3, 3]]))
  assert.equal(r.resolved, true)
  assert.deepEqual(r.boundary, { below: 0.4, above: 0.45 })
  assert.equal(r.next, null)
  // Shares whose networks never formed are skipped, not read as recovered.
  r = refineBoundary(pts([[0.1, 0, 3], [0.3, 0, 0], [0.7, 3, 3]]))
  assert.deepEqual(r.boundary, { below: 0.1, above: 0.7 })
  // No flip inside the tested range: said, not invented.
  assert.equal(refineBoundary(pts([[0.1, 0, 3], [0.7, 1, 3]])).boundary, null)
  assert.match(refineBoundary(pts([[0.1, 0, 3], [0.7, 1, 3]])).why, /above it/)
  assert.match(refineBoundary(pts([[0.1, 2, 3], [0.7, 3, 3]])).why, /below it/)
})

const scenario = (shares: number[], loads: number[], trials: number): Scenario => ({
  name: 'fake',
  description: '',
  timeScale: 1,
  peers: { count: 50 },
  settings: {},
  models: {},
  warmupMs: 1000,
  observeMs: 1000,
  storms: [{ atMs: 0, storm: { id: 'patch-day', targets: 'fraction:0.5', shape: 'uniform', windowMs: 1000, shutdown: 'graceful' } }],
  injections: [],
  sweep: { storm: 'patch-day', stormShares: shares, load: { key: 'peers', values: loads }, trials }
} as unknown as Scenario)

/**
 * A network whose true boundary is at `edge` storm share: a trial is metastable with
 * probability rising steeply around it (seeded, so the test is deterministic).
 */
function fakeRunner (edge: (load: number) => number, calls: string[], opts: { neverFormsAbove?: number, failOnce?: string } = {}): CellRunner {
  const failed = new Set<string>()
  return async (cell, runId) => {
    calls.push(runId)
    if (opts.failOnce === runId && !failed.has(runId)) { failed.add(runId); return { verdict: 'error', recoveryS: null, hostSaturated: null, error: 'Error: the host ran out of something' } }
    if (opts.neverFormsAbove !== undefined && cell.load > opts.neverFormsAbove) return { verdict: 'never-formed', recoveryS: null, hostSaturated: null, evidence: 'online 30/50 at the deadline' }
    const x = (cell.stormShare - edge(cell.load)) / 0.01
    const p = 1 / (1 + Math.exp(-x))
    const metastable = createRng(`${runId}`).next() < p
    return { verdict: metastable ? 'metastable' : 'recovered', recoveryS: metastable ? null : 10, hostSaturated: false }
  }
}

const quiet = { line: () => {} }

test('an adaptive sweep locates the boundary to within 5 points of storm share at each load, with the runs it took', async () => {
  const calls: string[] = []
  const edges: Record<number, number> = { 50: 0.42, 100: 0.23 }
  const saved: SweepResult[] = []
  const r = await executeSweep({
    scenario: scenario([0.1, 0.3, 0.5, 0.7], [50, 100], 3),
    seed: 's',
    id: 'sw',
    adaptive: { resolution: 0.05, maxRuns: 60 },
    runner: fakeRunner(l => edges[l] as number, calls),
    save: async (x) => { saved.push(structuredClone(x)) },
    progress: quiet
  })
  assert.equal(r.adaptive?.boundaries.length, 2)
  assert.equal(r.loadLabel, 'peers', 'sweep.json names the axis')
  for (const b of r.adaptive?.boundaries ?? []) {
    assert.equal(b.resolved, true, b.why)
    assert.ok(b.below !== null && b.above !== null)
    assert.ok((b.above as number) - (b.below as number) <= 0.05 + 1e-9, b.why)
    const edge = edges[b.load] as number
    // The steep fake flips within about 3 points of its edge: the interval must hold it, give or take that.
    assert.ok((b.below as number) - 0.03 <= edge && edge <= (b.above as number) + 0.03, `${b.load}: ${b.why} vs edge ${edge}`)
  }
  const gridRuns = 4 * 2 * 3
  assert.ok(calls.length > gridRuns, 'refinement ran more shares')
  assert.ok(calls.length <= gridRuns + 60)
  assert.equal(r.rows.length, calls.length, 'one row per run')
  assert.ok(r.rows.filter(x => x.refined === true).every(x => !r.rows.some(y => y !== x && y.runId === x.runId)))
  assert.ok(saved.length >= calls.length, 'saved after every run')
  assert.deepEqual(r.stormShares, [...r.stormShares].sort((a, b) => a - b))
})

test('a budget stops the refinement and says so', async () => {
  const r = await executeSweep({ scenario: scenario([0.1, 0.9], [50], 2), seed: 's', id: 'sw', adaptive: { resolution: 0.05, maxRuns: 4 }, runner: fakeRunner(() => 0.5, []), save: async () => {}, progress: quiet })
  const b = r.adaptive?.boundaries[0]
  assert.equal(b?.resolved, false)
  assert.match(b?.why ?? '', /budget of 4 runs is spent/)
  assert.equal(r.rows.length, 4 + 4)
})

test('a load where networks never form is a finding, with its evidence; its refinement stops', async () => {
  const r = await executeSweep({ scenario: scenario([0.1, 0.7], [50, 200], 2), seed: 's', id: 'sw', adaptive: { resolution: 0.05, maxRuns: 20 }, runner: fakeRunner(() => 0.4, [], { neverFormsAbove: 100 }), save: async () => {}, progress: quiet })
  const big = r.rows.filter(x => x.load === 200)
  assert.equal(big.length, 4)
  assert.ok(big.every(x => x.verdict === 'never-formed' && x.evidence === 'online 30/50 at the deadline'))
  assert.match(r.adaptive?.boundaries.find(b => b.load === 200)?.why ?? '', /no share has a trial whose network formed/)
  assert.equal(r.adaptive?.boundaries.find(b => b.load === 50)?.resolved, true)
})

test('a stopped sweep resumes: finished runs are reused, failed ones run again, nothing runs twice', async () => {
  const sc = scenario([0.1, 0.3, 0.5], [50], 2)
  let saved: SweepResult | undefined
  const first: string[] = []
  const stopAfter = 3
  await assert.rejects(executeSweep({
    scenario: sc,
    seed: 's',
    id: 'sw',
    runner: async (cell, runId) => {
      if (first.length === stopAfter) throw new Error('interrupted')
      return await fakeRunner(() => 0.4, first, { failOnce: 'sw-s0.1-l50-t2' })(cell, runId)
    },
    save: async (x) => { saved = structuredClone(x) },
    progress: quiet
  }), /interrupted/)
  assert.equal(saved?.rows.length, 3)
  assert.equal(saved?.rows.filter(x => x.verdict === 'error').length, 1)
  const second: string[] = []
  const r = await executeSweep({ scenario: sc, seed: 's', id: 'sw', previous: saved, runner: fakeRunner(() => 0.4, second), save: async () => {}, progress: quiet })
  assert.deepEqual(second, ['sw-s0.1-l50-t2', 'sw-s0.3-l50-t2', 'sw-s0.5-l50-t1', 'sw-s0.5-l50-t2'], 'the error again, then what had not run')
  assert.equal(r.rows.length, 6)
  assert.equal(r.rows.filter(x => x.verdict === 'error').length, 0, 'the rerun replaced the failed row')
})
