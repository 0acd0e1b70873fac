import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cellLabel, formatSweepTable, renderSweepHtml } from '../../orchestrator/sweep/render.ts'
import type { SweepResult, SweepResultRow } from '../../orchestrator/sweep/execute.ts'
import { loadAxisLabel } from '../../orchestrator/sweep/axis.ts'

const row = (stormShare: number, load: number, trial: number, verdict: SweepResultRow['verdict']): SweepResultRow =>
  ({ stormShare, load, trial, seed: `s-t${trial}`, runId: `r-${stormShare}-${load}-${trial}`, verdict, recoveryS: verdict === 'recovered' ? 3 : null, hostSaturated: false })

const result: SweepResult = {
  name: 'sweep-test',
  seed: 's',
  loadKey: 'peers',
  loadLabel: 'peers',
  stormShares: [0.1, 0.7],
  loads: [30, 50],
  trials: 2,
  rows: [
    row(0.1, 30, 1, 'recovered'), row(0.1, 30, 2, 'recovered'),
    row(0.1, 50, 1, 'recovered'), row(0.1, 50, 2, 'metastable'),
    row(0.7, 30, 1, 'degraded'),
    row(0.7, 50, 1, 'metastable'), row(0.7, 50, 2, 'error')
  ]
}

test('a cell counts its runs per verdict', () => {
  assert.equal(cellLabel(result.rows.filter(r => r.stormShare === 0.1 && r.load === 30)), '2R')
  assert.equal(cellLabel(result.rows.filter(r => r.stormShare === 0.1 && r.load === 50)), '1R 1M')
  assert.equal(cellLabel(result.rows.filter(r => r.stormShare === 0.7 && r.load === 50)), '1M 1E')
  assert.equal(cellLabel([]), '-')
})

test('the table has a row per storm share and a column per load: counts, then the metastable share with its interval', () => {
  const lines = formatSweepTable(result).split('\n')
  assert.deepEqual(lines[0]?.split('\t'), ['storm share \\ peers', '30', '50'])
  // 0 of 2 metastable: 0% with a Wilson 95% interval up to 66%; 1 of 2: 50% [9-91].
  assert.deepEqual(lines[1]?.split('\t'), ['0.1', '2R | M 0% [0-66]', '1R 1M | M 50% [9-91]'])
  // The error is not a trial: 1 of 1 metastable.
  assert.deepEqual(lines[2]?.split('\t'), ['0.7', '1D | M 0% [0-79]', '1M 1E | M 100% [21-100]'])
})

test('a cell whose networks never formed says so, and is grey in the diagram', () => {
  const nf: SweepResult = { ...result, stormShares: [0.5], loads: [200], rows: [{ ...row(0.5, 200, 1, 'never-formed'), evidence: 'not steady after 5m: online 32/50' }] }
  assert.match(formatSweepTable(nf), /0\.5\t1N \| never formed/)
  const html = renderSweepHtml(nf)
  assert.match(html, /background:#757575[^>]*title="trial 1: never-formed \(not steady after 5m: online 32\/50\)/)
})

test('the phase diagram is a heat map of the metastable share and lists every run', () => {
  const html = renderSweepHtml(result)
  // 0.1 x 50 is half metastable: amber; 0.1 x 30 none: green; 0.7 x 50 all: red.
  assert.match(html, /background:rgb\(249,168,37\)[^>]*title="trial 1: recovered \(3\.0 s\) r-0\.1-50-1/)
  assert.match(html, /background:rgb\(46,125,50\)[^>]*title="trial 1: recovered \(3\.0 s\) r-0\.1-30-1/)
  assert.match(html, /background:rgb\(198,40,40\)[^>]*title="trial 1: metastable r-0\.7-50-1/)
  for (const r of result.rows) assert.ok(html.includes(r.runId), r.runId)
  assert.doesNotMatch(html, /<script/)
})

test('an offered-load sweep names its axis as arrivals over login capacity, in the table and the diagram', () => {
  assert.equal(loadAxisLabel('peers'), 'peers')
  assert.equal(loadAxisLabel('loginQueueMax'), 'loginQueueMax')
  const label = loadAxisLabel('offeredLoad')
  assert.match(label, /offered load/)
  assert.match(label, /login capacity/)
  const r: SweepResult = { ...result, loadKey: 'offeredLoad', loadLabel: label, loads: [0.5, 1], rows: [row(0.1, 0.5, 1, 'recovered'), row(0.7, 1, 1, 'metastable')] }
  assert.equal(formatSweepTable(r).split('\n')[0]?.split('\t')[0], `storm share \\ ${label}`)
  const html = renderSweepHtml(r)
  assert.ok(html.includes(`storm share (rows) x ${label} (columns)`))
  assert.ok(!html.includes('offeredLoad'), 'the key is not what a reader sees')
})
