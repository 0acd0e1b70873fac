/**
 * `patchday check`: the plan of a scenario and whether a host runs its storms on
 * time (pure), and the command itself, which starts nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseScenario } from '../../orchestrator/scenario/load.ts'
import { checkScenario, formatCheck, type HostCosts } from '../../orchestrator/scenario/check.ts'
import { cliSync, ROOT } from '../helpers/cli.ts'

const storm = (targets: string, window: string, bootDelay: string, timeScale = 1, peers = 100): string => `name: t
description: t
timeScale: ${timeScale}
peers: { count: ${peers}, bootstrap: 4 }
settings: { slotsMax: 10 }
warmup: 30s
storms:
  - id: s1
    at: 10s
    targets: ${targets}
    shape: uniform
    window: ${window}
    shutdown: power-cut
    bootDelay: ${bootDelay}
  - id: s2
    at: 60s
    targets: supernodes,fraction:0.5
    shape: uniform
    window: 20s
    shutdown: graceful
    bootDelay: 5s
injections:
  - { at: 90s, count: 2, slots: 50 }
observe: 120s
`
const host: HostCosts = { cores: 2, restartCpuS: 0.5, utilization: 0.5 }

test('the plan: restarts per storm, supernodes expected, injections and the duration in real seconds', () => {
  const k = checkScenario(parseScenario(storm('fraction:0.4', '10s', '1s..3s', 0.5)).compiled, host)
  assert.equal(k.peers, 100)
  assert.equal(k.bootstrap, 4)
  assert.equal(k.supernodesExpected, 10, '96 clients at 10 slots each')
  assert.equal(k.storms.length, 2)
  const [a, b] = k.storms
  assert.equal(a?.restarts, 40)
  assert.equal(a?.approx, false)
  assert.equal(b?.restarts, 5, 'half of about 10 supernodes')
  assert.equal(b?.approx, true)
  assert.equal(a?.atS, 5)
  // 10 s window + 2 s of boot-delay spread, emulated, at 0.5 real per emulated second.
  assert.equal(a?.spreadS, 6)
  assert.deepEqual(k.injections, [{ atS: 45, count: 2, slots: 50 }])
  assert.equal(k.durationS.warmup, 15)
  assert.equal(k.durationS.observe, 60)
  assert.equal(k.durationS.timeline, 45)
  // Observation starts with the timeline and holds it: the total does not add the two.
  assert.equal(k.durationS.total, k.durationS.startup + 15 + 60)
})

test('each storm\'s logins against the login capacity: restarts over the spread of their boots (emulated)', () => {
  // The defaults' login server; a scenario's own one below.
  const text = storm('fraction:0.4', '10s', '1s..3s', 0.5).replace('settings: { slotsMax: 10 }', 'settings: { slotsMax: 10, loginConcurrencyMax: 1, loginServiceMs: 1250, loginRatePerS: 100 }')
  const k = checkScenario(parseScenario(text).compiled, host)
  assert.equal(k.loginServer.capacityPerS, 0.8)
  const a = k.storms[0]
  // 40 restarts over 10 s + 2 s of boot-delay spread: 3.33/s against 0.8/s. The timeScale does not matter: both are emulated.
  assert.ok(a !== undefined && Math.abs(a.loginsPerS - 40 / 12) < 1e-9, `${a?.loginsPerS}`)
  assert.ok(Math.abs((a?.burstLoad ?? 0) - 40 / 12 / 0.8) < 1e-9)
  // A fixed boot delay and a 20 s window: 5 supernodes over 20 s.
  assert.ok(Math.abs((k.storms[1]?.loginsPerS ?? 0) - 5 / 20) < 1e-9)
  // At the burst's end (40 - 0.8 x 12) = 30.4 logins queue: 38 s of waiting against the default 5 s... of this scenario's clients.
  assert.ok(Math.abs((a?.loginQueuePeak ?? 0) - (40 - 0.8 * 12)) < 1e-9)
  assert.ok(Math.abs((a?.loginWaitS ?? 0) - (40 - 0.8 * 12) / 0.8) < 1e-9)
  assert.equal(k.storms[1]?.loginQueuePeak, 0, 'a slow storm queues nothing')
  const out = formatCheck(k, host, 'local')
  assert.match(out, new RegExp(`^ {2}its logins: about 3\\.33/s emulated against a login capacity of 0\\.8/s: burst load 4\\.17; about 30 queued at its end, 38 s of waiting against the clients' ${k.loginServer.patienceS} s$`, 'm'))
  assert.match(out, /^ {2}its logins: about 0\.25\/s emulated against a login capacity of 0\.8\/s: burst load 0\.313$/m)
  // Admission control: the queue holds 3, the rest are answered busy, and the wait stays within the patience.
  const capped = checkScenario(parseScenario(text.replace('loginRatePerS: 100 }', 'loginRatePerS: 100, loginQueueMax: 3, loginOverflow: busy }')).compiled, host).storms[0]
  assert.equal(capped?.loginQueuePeak, 3)
  assert.equal(capped?.queueOverflow, 'busy')
  assert.equal(capped?.loginWaitS, 3 / 0.8)
  assert.equal(a?.queueOverflow, null, 'the default queue (32) holds 30')
})

test('a storm whose restarts need more CPU than its window gives runs late; the smallest timeScale that fits makes it fit', () => {
  // 40 restarts x 0.5 s = 20 s of CPU; 2 cores at 50%: 20 s busy over a 6 s spread: 14 s late.
  const tight = checkScenario(parseScenario(storm('fraction:0.4', '10s', '1s..3s', 0.5)).compiled, host)
  const s = tight.storms[0]
  assert.equal(s?.fits, false)
  assert.ok(Math.abs((s?.lateS ?? 0) - 14) < 1e-9)
  assert.equal(tight.faithful, false)
  assert.ok(tight.minTimeScale > 0.5)
  const scaled = checkScenario(parseScenario(storm('fraction:0.4', '10s', '1s..3s', tight.minTimeScale)).compiled, host)
  assert.equal(scaled.storms[0]?.fits, true, `at timeScale ${tight.minTimeScale}`)
  assert.equal(scaled.faithful, true)
  // One step below the minimum does not fit: the minimum is the smallest.
  const below = checkScenario(parseScenario(storm('fraction:0.4', '10s', '1s..3s', Number((tight.minTimeScale - 0.05).toFixed(2)))).compiled, host)
  assert.equal(below.storms[0]?.fits, false)
  // A small storm fits as it is.
  const small = checkScenario(parseScenario(storm('count:3', '10s', '1s..3s', 0.5)).compiled, host)
  assert.equal(small.storms[0]?.fits, true)
  assert.equal(small.storms[0]?.lateS, 0)
})

test('the command validates, prints the plan and the verdict on this host, and starts nothing', () => {
  const runs = mkdtempSync(join(tmpdir(), 'patchday-check-'))
  try {
    const r = cliSync(runs, ['check', join(ROOT, 'scenarios/skype-2010.yaml'), '--cores', '2'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^scenario skype-2010: seed skype-2010, timeScale 0\.4/m)
    assert.match(r.stdout, /^storm supernodes-lost: .* about 2 restarts \(supernodes,fraction:0\.4\)/m)
    assert.match(r.stdout, /^inject: at \+96\.0 s, 3 dedicated supernodes of 100 slots/m)
    assert.match(r.stdout, /^faithful: yes/m)
    const j = cliSync(runs, ['check', join(ROOT, 'scenarios/skype-2007.yaml'), '--cores', '2', '--runtime', 'compose', '--json'])
    assert.equal(j.code, 0, j.stderr)
    const parsed = JSON.parse(j.stdout) as { runtime: string, restartMode: string, host: HostCosts, faithful: boolean }
    assert.equal(parsed.runtime, 'compose')
    assert.ok(parsed.host.restartCpuS > 1, 'a container restart costs the engine too')
    assert.equal(parsed.faithful, false)
    const bad = cliSync(runs, ['check', join(ROOT, 'test/fixtures/scenarios/short-storm.yaml'), '--cores', '0'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--cores: a positive number/)
    assert.deepEqual(readdirSync(runs), [], 'nothing started, nothing written')
  } finally {
    rmSync(runs, { recursive: true, force: true })
  }
})
