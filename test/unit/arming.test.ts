/**
 * Faults armed late (issue 9): the PATCHDAY_ARMED contract, the peer's arming of
 * its own config object, the scenario's split into formation settings and armed
 * ones, and the report's record of when it happened.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseArmed, formatArmed, checkArmed, ARMABLE_KEYS } from '../../node/contract/armed.ts'
import { parseConfig } from '../../node/contract/config.ts'
import { FaultArming } from '../../node/arming.ts'
import { createEventLog } from '../../node/log.ts'
import { MODEL_NAMES, MODELS, modelKeys } from '../../orchestrator/scenario/models.ts'
import { parseScenario } from '../../orchestrator/scenario/load.ts'
import { faultsArmed } from '../../orchestrator/analysis/report.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const BASE_ENV = { PATCHDAY_RUN_ID: 'r', PATCHDAY_PEER: 'p-001', PATCHDAY_ROLE: 'peer', PATCHDAY_STATE_DIR: '/tmp/x', PATCHDAY_SEED: 's', PATCHDAY_LOGIN_ADDR: '/ip4/127.0.0.1/tcp/4000' }

test('every fault model\'s settings can be armed late', () => {
  for (const m of MODEL_NAMES) {
    if (MODELS[m].kind !== 'fault') continue
    for (const k of modelKeys(m)) assert.ok((ARMABLE_KEYS as readonly string[]).includes(k), `${m} sets ${k}, which is not armable`)
  }
})

test('parseArmed: the round trip, and refusals naming PATCHDAY_ARMED', () => {
  const armed = { pendingSlotDeadlineMs: 0, snOverloadThreshold: 1.5, electShortageBypassUptime: false, retryPolicy: 'fixed' as const }
  assert.deepEqual(parseArmed(formatArmed(armed)), armed)
  assert.deepEqual(parseArmed(''), {})
  for (const bad of ['{', '[]', '"x"', '{"PATCHDAY_SLOTS_MAX":"3"}', '{"PATCHDAY_PENDING_SLOT_DEADLINE_MS":0}', '{"PATCHDAY_PENDING_SLOT_DEADLINE_MS":"-1"}', '{"PATCHDAY_NOPE":"1"}']) {
    assert.throws(() => parseArmed(bad), (err: Error) => err.name === 'ConfigError' && err.message.startsWith('PATCHDAY_ARMED'), bad)
  }
  assert.throws(() => { checkArmed(parseConfig(BASE_ENV), { retryBaseMs: 90_000 }) }, (err: Error) => err.name === 'ConfigError' && err.message.startsWith('PATCHDAY_ARMED'))
})

test('FaultArming applies the armed settings to the config object in place, once the file exists; at boot when it exists already', async () => {
  const env = { ...BASE_ENV, PATCHDAY_ARMED: formatArmed({ pendingSlotDeadlineMs: 0, crashReplyThresholdMs: 3000 }), PATCHDAY_ARM_FILE: '/arm' }
  let exists = false
  const config = parseConfig(env)
  const before = config.pendingSlotDeadlineMs
  assert.ok(before > 0)
  const lines: string[] = []
  const log = createEventLog({ run: 'r', peer: 'p-001', inc: 1, level: 'info' }, () => 'client', { write: (l: string) => { lines.push(l) } } as never)
  const arming = new FaultArming(config, () => exists)
  assert.equal(arming.armIfDue(), false)
  arming.start(log)
  await new Promise(resolve => setTimeout(resolve, 1200))
  assert.equal(config.pendingSlotDeadlineMs, before, 'not before the file exists')
  exists = true
  await new Promise(resolve => setTimeout(resolve, 1200))
  arming.stop()
  assert.equal(config.pendingSlotDeadlineMs, 0)
  assert.equal(config.crashReplyThresholdMs, 3000)
  const armedLines = lines.map(l => JSON.parse(l) as { ev?: string, keys?: string[], atBoot?: boolean }).filter(e => e.ev === 'faults.armed')
  assert.deepEqual(armedLines.map(e => [e.keys, e.atBoot]), [[['pendingSlotDeadlineMs', 'crashReplyThresholdMs'], false]])
  // A boot after the arming: armed before anything starts.
  const again = parseConfig(env)
  assert.equal(new FaultArming(again, () => true).armIfDue(), true)
  assert.equal(again.pendingSlotDeadlineMs, 0)
  // Nothing to arm, or no file: never armed.
  assert.equal(new FaultArming(parseConfig({ ...BASE_ENV, PATCHDAY_ARM_FILE: '/arm' }), () => true).armIfDue(), false)
  assert.equal(new FaultArming(parseConfig({ ...env, PATCHDAY_ARM_FILE: '' }), () => true).armIfDue(), false)
})

const scenario = (armFaults?: string): string => JSON.stringify({
  name: 'arm', description: 'x', timeScale: 0.5, seed: 's1',
  peers: { count: 20, bootstrap: 2 },
  settings: { slotsMax: 8 },
  models: { 'slot-leak': null, 'crashing-version': { share: 0.5 }, 'jittered-backoff': null },
  ...(armFaults !== undefined ? { armFaults } : {}),
  warmup: '60s', observe: '120s',
  storms: [{ at: '0s', targets: 'peers,fraction:0.5', shape: 'uniform', window: '10s', bootDelay: '2s' }]
})
const compileScenario = (text: string, _seed: string): ReturnType<typeof parseScenario>['compiled'] => parseScenario(text).compiled

test('a scenario\'s faults are left out of the settings peers start with and armed per peer; fixes and settings hold from the start', () => {
  const c = compileScenario(scenario(), 's1')
  assert.equal(c.armFaults, 'steady')
  assert.deepEqual(c.armed?.keys, ['crashReplyThresholdMs', 'pendingSlotDeadlineMs'])
  assert.equal(c.armed?.peers, c.network.peers.length)
  const common = c.applied.common
  assert.equal(common.pendingSlotDeadlineMs, undefined)
  assert.equal(common.slotsMax, 8)
  assert.equal(common.retryPolicy, 'full-jitter', 'a fix is not armed late')
  assert.deepEqual(parseArmed(common.armed ?? ''), { pendingSlotDeadlineMs: 0 })
  const crashing = Object.entries(c.applied.perPeer).filter(([, v]) => v.armed !== undefined)
  assert.equal(crashing.length, 10)
  for (const [, v] of crashing) {
    assert.equal(v.crashReplyThresholdMs, undefined)
    assert.deepEqual(parseArmed(v.armed ?? ''), { pendingSlotDeadlineMs: 0, crashReplyThresholdMs: 3000 })
  }
  // armFaults: start keeps the faults from the first boot, as before.
  const early = compileScenario(scenario('start'), 's1')
  assert.equal(early.armed, null)
  assert.equal(early.applied.common.pendingSlotDeadlineMs, 0)
  assert.equal(early.applied.common.armed, undefined)
  assert.equal(compileScenario(scenario('warmup-end'), 's1').armFaults, 'warmup-end')
})

test('the report says when the faults were armed and how many peers confirmed', () => {
  const ev = (time: number, e: Record<string, unknown>): PeerEvent => ({ time, level: 30, run: 'r', peer: 'orchestrator', inc: 1, role: 'orchestrator', ...e }) as unknown as PeerEvent
  const events = [
    ev(1000, { ev: 'run.phase', phase: 'warmup' }),
    ev(4000, { ev: 'run.armed', when: 'steady', keys: ['pendingSlotDeadlineMs'], peers: 3 }),
    ev(4500, { ev: 'faults.armed', peer: 'p-001', keys: ['pendingSlotDeadlineMs'], atBoot: false }),
    ev(4600, { ev: 'faults.armed', peer: 'p-002', keys: ['pendingSlotDeadlineMs'], atBoot: false }),
    ev(9000, { ev: 'faults.armed', peer: 'p-002', keys: ['pendingSlotDeadlineMs'], atBoot: true })
  ]
  assert.deepEqual(faultsArmed(events, 1000), { armedS: 3, when: 'steady', keys: ['pendingSlotDeadlineMs'], peers: 3, peersArmed: 2 })
  assert.equal(faultsArmed(events.filter(e => e.ev !== 'run.armed'), 1000), null)
})
