/**
 * A real sweep through the CLI, small: two cells of the short-storm scenario,
 * one at a login speed where the 12-peer network forms, one where the login
 * server is so slow that it cannot form before the start-up deadline. The first
 * is judged; the second is a finding ("never formed", with the evidence), not an
 * error. Then `--resume` of the finished sweep reuses both runs and starts none.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, ROOT } from '../helpers/cli.ts'
import { findRunProcesses } from '../../orchestrator/runtime/local.ts'
import type { SweepResult } from '../../orchestrator/sweep/execute.ts'

const runsDir = tempRunsDir('sweep')
after(async () => {
  await cli(runsDir, ['down', '--all', '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
})

test('a sweep judges the cells that form, reports the one that cannot form as such, and resumes without running anything twice', async () => {
  const scenario = join(runsDir, 'short-sweep.yaml')
  writeFileSync(scenario, readFileSync(join(ROOT, 'test/fixtures/scenarios/short-storm.yaml'), 'utf8') +
    'sweep:\n  storm: mini\n  stormShare: [0.5]\n  load: { key: loginServiceMs, values: [50, 30000] }\n  trials: 1\n')
  const r = await cli(runsDir, ['sweep', scenario, '--timeout', '40s'], 600_000)
  assert.equal(r.code, 0, r.stderr)
  const dir = r.stdout.trim().replace(/\/sweep\.html$/, '')
  const result = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as SweepResult
  assert.equal(result.rows.length, 2)
  const fast = result.rows.find(x => x.load === 50)
  const slow = result.rows.find(x => x.load === 30000)
  assert.equal(fast?.verdict, 'recovered', JSON.stringify(fast))
  assert.equal(slow?.verdict, 'never-formed', JSON.stringify(slow))
  assert.match(slow?.evidence ?? '', /online \d+\/12/)
  assert.match(r.stderr, /1R \| M 0% \[0-79\]/)
  assert.match(r.stderr, /1N \| never formed/)
  const html = readFileSync(join(dir, 'sweep.html'), 'utf8')
  assert.match(html, /never-formed/)
  // Nothing of either run is left running.
  for (const row of result.rows) assert.deepEqual(await findRunProcesses(row.runId), [], row.runId)

  const id = dir.split('/').at(-1) as string
  const again = await cli(runsDir, ['sweep', scenario, '--resume', id], 120_000)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /resuming: 2 of 2 grid runs already done/)
  assert.doesNotMatch(again.stderr, /\[\d+\] share=/, 'no run started')
  const resumed = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as SweepResult
  assert.deepEqual(resumed.rows.map(x => x.runId), result.rows.map(x => x.runId))

  const wrong = await cli(runsDir, ['sweep', join(ROOT, 'scenarios/sweep-2007-quick.yaml'), '--resume', id], 60_000)
  assert.equal(wrong.code, 2)
  assert.match(wrong.stderr, /is a sweep of short-storm/)
})
