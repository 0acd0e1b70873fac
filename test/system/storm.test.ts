/**
 * Storms end to end with real processes: a scenario run (up, warm-up, storm,
 * observation, report, down), and the storm, inject and report commands on a
 * network brought up by hand.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, eventually, ROOT } from '../helpers/cli.ts'
import { findRunProcesses } from '../../orchestrator/runtime/local.ts'
import { readTimeline } from '../../orchestrator/logs/tail.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const runsDir = tempRunsDir('storm')
const started: string[] = []
after(async () => {
  for (const id of started) await cli(runsDir, ['down', '--run', id, '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
})

function ops (events: PeerEvent[], stormId: string): Array<PeerEvent<'storm.op'>> {
  return events.filter((e): e is PeerEvent<'storm.op'> => e.ev === 'storm.op' && e.stormId === stormId)
}

test('a scenario run: the storm is journalled, its targets reboot, the report judges the run, nothing is left running', async () => {
  const runId = 'e2e-short-storm'
  started.push(runId)
  // A copy that expects the wrong verdict: with --check, the run must exit 3 (and still report).
  const scenario = join(runsDir, 'short-storm-expects-metastable.yaml')
  writeFileSync(scenario, readFileSync(join(ROOT, 'test/fixtures/scenarios/short-storm.yaml'), 'utf8').replace(/^expect: recovered$/m, 'expect: metastable'))
  const r = await cli(runsDir, ['run', scenario, '--run-id', runId, '--json', '--check'], 300_000)
  assert.equal(r.code, 3, `exit code ${r.code}: ${r.stderr}`)
  const headline = JSON.parse(r.stdout) as { runId: string, seed: string, verdict: string, expect: string, recoveryS: number | null }
  assert.equal(headline.expect, 'metastable')
  assert.equal(headline.seed, 'short-storm') // printed with --json in the result, else on stderr first

  const dir = join(runsDir, runId)
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { verdict: string, seed: string, recoveryS: number | null, windows: { stormS: unknown } }
  assert.equal(report.verdict, headline.verdict)
  assert.equal(report.seed, 'short-storm')
  assert.notEqual(report.windows.stormS, null, 'the report found the storm')
  assert.ok(existsSync(join(dir, 'report.html')))
  // Half of 12 power-cut and back: the tuned network heals.
  assert.equal(report.verdict, 'recovered', `verdict ${report.verdict}`)

  const events = await readTimeline(join(dir, 'logs'))
  const plan = events.find(e => e.ev === 'storm.plan')
  assert.ok(plan !== undefined && plan.ev === 'storm.plan')
  assert.equal(plan.targets, 6)
  const journal = ops(events, 'mini')
  const targets = new Set(journal.filter(o => o.op === 'kill').map(o => o.target))
  assert.equal(targets.size, 6)
  for (const t of targets) {
    for (const op of ['kill', 'start'] as const) {
      const statuses = journal.filter(o => o.target === t && o.op === op).map(o => o.status)
      assert.deepEqual(statuses, ['invoked', 'ok'], `${t} ${op}`)
    }
    // The target really rebooted: a second incarnation booted and got online again.
    assert.ok(events.some(e => e.peer === t && e.ev === 'boot' && e.inc === 2), `${t} rebooted`)
    assert.ok(events.some(e => e.peer === t && e.ev === 'online' && e.inc === 2), `${t} online again`)
  }
  assert.ok(events.some(e => e.ev === 'storm.end'))
  // The fault was armed once the network formed, before the warm-up: every peer switched it on
  // while running, and each rebooted target again at its boot (the arm file existed by then).
  const armedAt = events.find(e => e.ev === 'run.armed')
  const warmup = events.find(e => e.ev === 'run.phase' && e.phase === 'warmup')
  assert.ok(armedAt !== undefined && armedAt.ev === 'run.armed' && warmup !== undefined && armedAt.time <= warmup.time, 'armed before the warm-up')
  assert.deepEqual(armedAt.keys, ['snOverloadThreshold'])
  const armedLive = new Set(events.filter(e => e.ev === 'faults.armed' && !e.atBoot && e.time >= armedAt.time).map(e => e.peer))
  assert.equal(armedLive.size, 12, `peers armed while running: ${[...armedLive].join(', ')}`)
  for (const t of targets) assert.ok(events.some(e => e.peer === t && e.ev === 'faults.armed' && e.atBoot && e.inc === 2), `${t} armed at its reboot`)
  assert.equal((report as unknown as { faults: { peersArmed: number } }).faults.peersArmed, 12)
  assert.deepEqual(await findRunProcesses(runId), [])
})

test('storm, inject and report on a network brought up by hand', async () => {
  const runId = 'e2e-manual'
  started.push(runId)
  const up = await cli(runsDir, ['up', '--peers', '8', '--run-id', runId, '--seed', 'manual', '--set', 'heartbeatIntervalMs=3000'])
  assert.equal(up.code, 0, up.stderr)

  const s = await cli(runsDir, ['storm', '--targets', 'peers,count:2', '--boot-delay', '1s', '--shutdown', 'graceful', '--seed', 'st1', '--json'])
  assert.equal(s.code, 0, s.stderr)
  const result = JSON.parse(s.stdout) as { ok: number, failed: number, seed: string }
  assert.equal(result.seed, 'st1')
  assert.equal(result.ok, 4, 'two stops and two starts')
  assert.equal(result.failed, 0)
  const logs = join(runsDir, runId, 'logs')
  const journal = ops(await readTimeline(logs), 'storm')
  const targets = [...new Set(journal.map(o => o.target))]
  assert.equal(targets.length, 2)
  await eventually('both targets online in their second incarnation', 60_000, async () => {
    const ev = await readTimeline(logs)
    return targets.every(t => ev.some(e => e.peer === t && e.ev === 'online' && e.inc === 2)) ? true : undefined
  })
  const ev = await readTimeline(logs)
  for (const t of targets) assert.ok(ev.some(e => e.peer === t && e.ev === 'shutdown' && e.inc === 1), `${t} shut down gracefully`)

  const inj = await cli(runsDir, ['inject', 'supernodes', '--count', '1', '--slots', '50'])
  assert.equal(inj.code, 0, inj.stderr)
  assert.equal(inj.stdout.trim(), 'mega-01')
  await eventually('the injected supernode serving', 60_000, async () => {
    const st = await cli(runsDir, ['status', '--json'])
    const j = JSON.parse(st.stdout) as { supernodeList: Array<{ peer: string }> }
    return j.supernodeList.some(x => x.peer === 'mega-01') ? true : undefined
  })

  const rep = await cli(runsDir, ['report', '--json'])
  assert.equal(rep.code, 0, rep.stderr)
  const report = JSON.parse(rep.stdout) as { runId: string, verdict: string, counts: { stormOps: { ok: number }, injected: number } }
  assert.equal(report.runId, runId)
  assert.equal(report.counts.stormOps.ok, 4)
  assert.equal(report.counts.injected, 1)

  const bad = await cli(runsDir, ['storm', '--targets', 'fraction:2'])
  assert.equal(bad.code, 2, 'a bad target spec is a usage error')
  const down = await cli(runsDir, ['down'])
  assert.equal(down.code, 0)
  assert.deepEqual(await findRunProcesses(runId), [])
})
