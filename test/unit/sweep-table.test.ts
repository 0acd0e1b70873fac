import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cellLabel, formatSweepTable, renderSweepHtml, type SweepResult, type SweepResultRow } from '../../orchestrator/commands/sweep.ts'

const row = (stormShare: number, load: number, trial: number, verdict: SweepResultRow['verdict']): SweepResultRow =>
  ({ stormShare, load, trial, seed: `s-t${trial}`, runId: `r-${stormShare}-${load}-${trial}`, verdict, recoveryS: verdict === 'recovered' ? 3 : null, hostSaturated: false })

const result: SweepResult = {
  name: 'sweep-test',
  seed: 's',
  loadKey: 'peers',
  stormShares: [0.1, 0.7],
  loads: [30, 50],
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

test('the table has a row per storm share and a column per load', () => {
  const lines = formatSweepTable(result).split('\n')
  assert.deepEqual(lines[0]?.split('\t'), ['storm share \\ peers', '30', '50'])
  assert.deepEqual(lines[1]?.split('\t'), ['0.1', '2R', '1R 1M'])
  assert.deepEqual(lines[2]?.split('\t'), ['0.7', '1D', '1M 1E'])
})

test('the phase diagram colours each cell by its worst outcome and lists every run', () => {
  const html = renderSweepHtml(result)
  // 0.1 x 50 holds a metastable run: red, not green.
  assert.match(html, /background:#c62828[^>]*title="trial 1: recovered \(3\.0 s\) r-0\.1-50-1/)
  assert.match(html, /background:#2e7d32[^>]*title="trial 1: recovered \(3\.0 s\) r-0\.1-30-1/)
  for (const r of result.rows) assert.ok(html.includes(r.runId), r.runId)
  assert.doesNotMatch(html, /<script/)
})
