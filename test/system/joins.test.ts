/**
 * Population growth end to end with real processes: a scenario whose network
 * grows by four peers after the warm-up, then takes a storm. The joiners must
 * not boot before their join, must all get online, and no storm may target a
 * peer before it joined.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, ROOT } from '../helpers/cli.ts'
import { findRunProcesses } from '../../orchestrator/runtime/local.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const runsDir = tempRunsDir('joins')
const runId = 'e2e-joins'
after(async () => {
  await cli(runsDir, ['down', '--run', runId, '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
})

test('a scenario run with a join: the joiners boot only after it and get online, the storm hits none before it joined, nothing is left running', async () => {
  const r = await cli(runsDir, ['run', join(ROOT, 'test/fixtures/scenarios/joins.yaml'), '--run-id', runId, '--json'], 300_000)
  assert.equal(r.code, 0, `exit code ${r.code}: ${r.stderr}`)
  const headline = JSON.parse(r.stdout) as { runId: string, seed: string }
  assert.equal(headline.runId, runId)

  const dir = join(runsDir, runId)
  const meta = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { peers: Array<{ name: string, bootstrap: boolean, late?: boolean }> }
  const late = meta.peers.filter(p => p.late === true).map(p => p.name)
  assert.deepEqual(late, ['p-011', 'p-012', 'p-013', 'p-014'], 'the joiners are the last four peers of the plan')
  assert.ok(meta.peers.filter(p => p.late === true).every(p => !p.bootstrap))

  const events = await readTimeline(join(dir, 'logs'))
  const joins = events.filter((e): e is PeerEvent<'join'> => e.ev === 'join')
  assert.equal(joins.length, 1, 'one join journalled')
  const joinEv = joins[0] as PeerEvent<'join'>
  assert.deepEqual(joinEv.names, late)
  const steady = events.find(e => e.ev === 'net.steady')
  assert.ok(steady !== undefined && steady.ev === 'net.steady')
  assert.equal(steady.peers, 10, 'steady state is judged on the peers up started')
  assert.ok(steady.time < joinEv.time)

  const firstBoot = (peer: string): number | undefined => events.find(e => e.peer === peer && e.ev === 'boot')?.time
  for (const p of late) {
    const boot = firstBoot(p)
    assert.ok(boot !== undefined, `${p} booted`)
    assert.ok(boot >= joinEv.time, `${p} booted at ${boot}, before its join at ${joinEv.time}`)
    assert.ok(events.some(e => e.peer === p && e.ev === 'online'), `${p} got online`)
  }
  // The peers up started all booted before the join.
  for (const p of meta.peers.filter(x => x.late !== true)) assert.ok((firstBoot(p.name) ?? Infinity) < joinEv.time, `${p.name} booted at start-up`)

  // The storm came after the join: every target had joined (booted) before the storm was planned.
  const plan = events.find((e): e is PeerEvent<'storm.plan'> => e.ev === 'storm.plan')
  assert.ok(plan !== undefined, 'the storm ran')
  const ops = events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op')
  const targets = new Set(ops.map(o => o.target))
  assert.ok(targets.size > 0)
  for (const t of targets) {
    const boot = firstBoot(t)
    assert.ok(boot !== undefined && boot < plan.time, `storm target ${t} had not joined when the storm was planned`)
  }
  assert.ok(ops.every(o => o.status !== 'failed'), 'no storm op failed')
  assert.deepEqual(await findRunProcesses(runId), [])
})
