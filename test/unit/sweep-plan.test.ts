/**
 * `patchday check` on a sweep (pure): the scenario's own offered load, and per load
 * value what its cells set and the offered load they put on the login server.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { loadScenarioFile } from '../../orchestrator/scenario/load.ts'
import { checkScenario, formatCheck, type HostCosts } from '../../orchestrator/scenario/check.ts'
import { planSweep, formatSweepPlan } from '../../orchestrator/sweep/plan.ts'
import { ROOT } from '../helpers/cli.ts'

const host: HostCosts = { cores: 2, restartCpuS: 0.5, utilization: 0.5 }

test('check gives a scenario\'s offered load: arrivals during the ramp-up over login capacity', async () => {
  const l = await loadScenarioFile(join(ROOT, 'scenarios/skype-2007.yaml'))
  const k = checkScenario(l.compiled, host)
  assert.deepEqual(k.login, { arrivalsPerS: 0.5, offeredLoad: 0.625, rampUpS: 100 })
  assert.equal(k.loginServer.capacityPerS, 0.8)
  assert.match(formatCheck(k, host, 'local'), /^login: 50 peers arrive over 100 s emulated \(0\.5\/s\) against a login capacity of 0\.8\/s: offered load 0\.625$/m)
  // Without a ramp-up everyone arrives at once: no offered load, no line.
  const calm = await loadScenarioFile(join(ROOT, 'scenarios/calm.yaml'))
  const c = checkScenario({ ...calm.compiled, rampUpMs: 0 }, host)
  assert.equal(c.login, null)
  assert.doesNotMatch(formatCheck(c, host, 'local'), /^login:/m)
})

test('an offered-load sweep\'s plan: each value with the loginServiceMs its cells use', async () => {
  const l = await loadScenarioFile(join(ROOT, 'scenarios/sweep-2007-load.yaml'))
  const p = planSweep(l.scenario, l.seed)
  assert.ok(p !== null)
  assert.equal(p.loadKey, 'offeredLoad')
  assert.deepEqual(p.loads.map(x => x.settings), [{ loginServiceMs: 500 }, { loginServiceMs: 1250 }, { loginServiceMs: 2000 }])
  assert.deepEqual(p.loads.map(x => x.offeredLoad), [0.25, 0.625, 1])
  assert.deepEqual(p.loads.map(x => x.capacityPerS), [2, 0.8, 0.5])
  assert.equal(p.runs, p.stormShares.length * 3 * p.trials)
  const text = formatSweepPlan(p)
  assert.match(text, new RegExp(`^sweep: storm patch-day at shares .* x ${p.loadLabel.replace(/[()]/g, '\\$&')} 0\\.25, 0\\.625, 1; 3 trials per cell: ${p.runs} runs$`, 'm'))
  assert.match(text, /^ {2}offeredLoad=1: loginServiceMs=2000; offered load 1 \(0\.5 arrivals\/s, login capacity 0\.5\/s\)$/m)
})

test('a peers sweep\'s plan: each size with the offered load it brings', async () => {
  const l = await loadScenarioFile(join(ROOT, 'scenarios/sweep-2007.yaml'))
  const p = planSweep(l.scenario, l.seed)
  assert.ok(p !== null)
  for (const x of p.loads) {
    assert.deepEqual(x.settings, {})
    assert.equal(x.peers, x.value)
    // The same login server over the same ramp-up: the offered load grows with the peers.
    assert.equal(x.capacityPerS, 0.8)
    assert.ok(x.offeredLoad !== null && Math.abs(x.offeredLoad - x.value * 1000 / (l.scenario.peers.rampUpMs ?? 0) / 0.8) < 1e-9, `${x.offeredLoad}`)
  }
  assert.match(formatSweepPlan(p), /^ {2}peers=30: peers\.count=30; offered load 0\.375 /m)
  assert.equal(planSweep((await loadScenarioFile(join(ROOT, 'scenarios/calm.yaml'))).scenario, 'x'), null)
})
