import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join, dirname, basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { loadScenarioFile, parseScenario } from '../../orchestrator/scenario/load.ts'
import { expandSweep, sweepCell } from '../../orchestrator/scenario/compile.ts'
import { demandOf, offeredLoadOf } from '../../orchestrator/scenario/offered-load.ts'
import type { ScenarioIssue } from '../../orchestrator/scenario/errors.ts'
import { formatPath } from '../../orchestrator/storm/fields.ts'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios')
const shipped = readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()

test('the shipped scenarios are there', () => {
  for (const f of ['calm.yaml', 'skype-2007.yaml', 'skype-2007-tuned.yaml', 'skype-2010.yaml', 'sweep-2007.yaml', 'history-2007.yaml', 'history-2007-tuned.yaml']) assert.ok(shipped.includes(f), f)
})

for (const f of shipped) {
  test(`scenarios/${f} validates and compiles`, async () => {
    const l = await loadScenarioFile(join(dir, f))
    assert.equal(l.scenario.name, basename(f, '.yaml'))
    assert.equal(l.seedSource, 'file')
    // Everyone who will ever exist: the peers that start the network and those that join later.
    assert.equal(l.compiled.network.peers.length, l.scenario.peers.count + l.scenario.joins.reduce((n, j) => n + j.count, 0))
    assert.equal(l.compiled.network.settings.timeScale, l.scenario.timeScale)
    // Small enough for a 2-core host, short enough to run in minutes.
    assert.ok(l.scenario.peers.count <= 60, 'peers')
    const realS = (l.scenario.warmupMs + l.scenario.observeMs) * l.scenario.timeScale / 1000
    // A history of patch days needs calm months between them: it may take longer.
    assert.ok(realS <= (l.scenario.storms.length > 1 ? 400 : 300), `runs ${realS}s of real time after up`)
  })
}

test('skype-2007 and skype-2007-tuned run the same storm on the same network', async () => {
  const a = await loadScenarioFile(join(dir, 'skype-2007.yaml'))
  const b = await loadScenarioFile(join(dir, 'skype-2007-tuned.yaml'))
  assert.deepEqual(a.scenario.storms, b.scenario.storms)
  assert.deepEqual(a.compiled.network.peers, b.compiled.network.peers)
  for (const k of ['timeScale', 'warmupMs', 'observeMs'] as const) assert.equal(a.scenario[k], b.scenario[k], k)
  assert.equal(a.scenario.expect, 'metastable')
  assert.equal(b.scenario.expect, 'recovered')
  // The fault (slot-leak) is armed once the network formed: peers start without it and get it in PATCHDAY_ARMED;
  // the fix (slot-reclaim) holds from the start.
  assert.equal(a.compiled.network.settings.pendingSlotDeadlineMs, undefined)
  assert.equal(JSON.parse(a.compiled.network.settings.armed ?? '{}').PATCHDAY_PENDING_SLOT_DEADLINE_MS, '0')
  assert.deepEqual(a.compiled.armed?.keys.includes('pendingSlotDeadlineMs'), true)
  assert.ok((b.compiled.network.settings.pendingSlotDeadlineMs ?? 0) > 0)
})

test('calm has no storm and expects recovered; skype-2010 injects supernodes after its storm', async () => {
  const calm = await loadScenarioFile(join(dir, 'calm.yaml'))
  assert.deepEqual(calm.compiled.timeline, [])
  assert.equal(calm.scenario.expect, 'recovered')
  const s2010 = await loadScenarioFile(join(dir, 'skype-2010.yaml'))
  assert.deepEqual(s2010.compiled.timeline.map(e => e.kind), ['storm', 'inject'])
  // Both 2010 faults are armed once the network formed: the crashing version on a share of the peers, self-protection on all.
  const crashing = Object.entries(s2010.compiled.applied.perPeer).filter(([, v]) => v.armed !== undefined)
  assert.ok(crashing.length > 0, 'a share runs the crashing version')
  for (const [, v] of crashing) {
    assert.equal(v.crashReplyThresholdMs, undefined, 'not before it is armed')
    const armed = JSON.parse(v.armed ?? '{}') as Record<string, string>
    assert.ok(Number(armed.PATCHDAY_CRASH_REPLY_THRESHOLD_MS) > 0)
    assert.ok(Number(armed.PATCHDAY_SN_OVERLOAD_THRESHOLD) > 0, 'a peer\'s own armed settings include the common ones')
  }
  assert.equal(s2010.compiled.network.settings.snOverloadThreshold, undefined)
  assert.ok(Number((JSON.parse(s2010.compiled.network.settings.armed ?? '{}') as Record<string, string>).PATCHDAY_SN_OVERLOAD_THRESHOLD) > 0)
  assert.equal(s2010.compiled.armed?.peers, s2010.compiled.network.peers.length)
})

test('sweep-2007 expands to share x load x trials, with one seed per trial across cells', async () => {
  const l = await loadScenarioFile(join(dir, 'sweep-2007.yaml'))
  const sw = l.scenario.sweep
  assert.ok(sw !== undefined)
  const cells = expandSweep(l.scenario, l.seed)
  assert.equal(cells.length, sw.stormShares.length * sw.load.values.length * sw.trials)
  for (const c of cells) {
    assert.equal(c.scenario.sweep, undefined)
    assert.equal(c.scenario.storms[0]?.storm.targets, `fraction:${c.stormShare}`)
    assert.equal(c.scenario.peers.count, c.load)
    assert.equal(c.seed, `${l.seed}-t${c.trial + 1}`)
  }
  assert.equal(new Set(cells.map(c => c.seed)).size, sw.trials)
})

// ---- wrong scenarios

const base = (): Record<string, unknown> => ({
  name: 'test',
  description: 'a test scenario',
  seed: 'fixed',
  timeScale: 0.5,
  peers: { count: 20, bootstrap: 2 },
  settings: { slotsMax: 8 },
  models: { 'slot-leak': null },
  warmup: '60s',
  storms: [{ at: '0s', targets: 'fraction:0.5', shape: 'uniform', window: '10s', bootDelay: '1s..5s' }],
  observe: '120s'
})

/** Issues of an invalid scenario, each with the text of the line it points at. */
function issuesOf (doc: Record<string, unknown>): Array<ScenarioIssue & { where: string, text: string }> {
  const text = stringify(doc)
  const lines = text.split('\n')
  try {
    parseScenario(text, 'test.yaml')
  } catch (err) {
    assert.equal((err as Error).name, 'ScenarioError')
    return (err as { issues: ScenarioIssue[] }).issues.map(i => ({ ...i, where: formatPath(i.path), text: i.line === undefined ? '' : lines[i.line - 1] ?? '' }))
  }
  assert.fail('expected a ScenarioError')
}

function refused (mutate: (d: Record<string, unknown>) => void, where: string, lineHas?: string): void {
  const d = base()
  mutate(d)
  const issues = issuesOf(d)
  const hit = issues.find(i => i.where === where)
  assert.ok(hit !== undefined, `expected an issue at ${where}, got ${issues.map(i => `${i.where}: ${i.message}`).join(' | ')}`)
  if (lineHas !== undefined) assert.ok(hit.text.includes(lineHas), `line ${hit.line} is ${JSON.stringify(hit.text)}, expected it to contain ${lineHas}`)
}

const storm = (d: Record<string, unknown>): Record<string, unknown> => (d.storms as Array<Record<string, unknown>>)[0] ?? {}

test('the base test scenario is valid', () => {
  assert.doesNotThrow(() => parseScenario(stringify(base())))
})

test('a wrong value names its path and its line', () => {
  refused(d => { storm(d).shape = 'sideways' }, 'storms[0].shape', 'shape: sideways')
  refused(d => { storm(d).window = '10' }, 'storms[0].window', 'window')
  refused(d => { d.timeScale = 0 }, 'timeScale', 'timeScale')
  refused(d => { (d.peers as Record<string, unknown>).count = 2.5 }, 'peers.count', 'count')
  refused(d => { storm(d).targets = 'supernode' }, 'storms[0].targets', 'targets')
  refused(d => { storm(d).bootDelay = '5s..1s' }, 'storms[0].bootDelay', 'bootDelay')
  refused(d => { d.expect = 'fine' }, 'expect', 'expect')
})

test('an unknown field is an error that names it, at its line', () => {
  refused(d => { storm(d).windw = '3s' }, 'storms[0].windw', 'windw')
  refused(d => { d.colour = 'red' }, 'colour', 'colour')
  refused(d => { (d.peers as Record<string, unknown>).capable = 0.3 }, 'peers.capable', 'capable')
})

test('a missing field is "required"', () => {
  const d = base()
  delete d.name
  const hit = issuesOf(d).find(i => i.where === 'name')
  assert.match(hit?.message ?? '', /^required/)
})

test('settings are checked against the peer configuration', () => {
  refused(d => { (d.settings as Record<string, unknown>).slotsMaxx = 3 }, 'settings.slotsMaxx', 'slotsMaxx')
  refused(d => { (d.settings as Record<string, unknown>).slotsMax = 0 }, 'settings.slotsMax', 'slotsMax')
  refused(d => { (d.settings as Record<string, unknown>).retryPolicy = 'often' }, 'settings.retryPolicy')
  refused(d => { (d.settings as Record<string, unknown>).retryHonorHint = 'yes' }, 'settings.retryHonorHint')
  refused(d => { (d.settings as Record<string, unknown>).port = 4001 }, 'settings.port')
  refused(d => { (d.settings as Record<string, unknown>).timeScale = 1 }, 'settings.timeScale')
  // The peer's own cross-field rule, found before anything starts.
  refused(d => { d.settings = { retryBaseMs: 9000, retryCapMs: 1000 } }, 'settings.retryBaseMs')
})

test('models: unknown names, bad parameters and conflicts are refused', () => {
  refused(d => { d.models = { 'slot-leek': null } }, 'models.slot-leek', 'slot-leek')
  refused(d => { d.models = { 'slot-reclaim': { deadlineMs: '15s' } } }, 'models.slot-reclaim.deadlineMs')
  refused(d => { d.models = { 'slot-reclaim': { deadline: 15000 } } }, 'models.slot-reclaim.deadline')
  refused(d => { d.models = { 'slot-leak': null, 'slot-reclaim': null } }, 'models.slot-reclaim', 'slot-reclaim')
  refused(d => { d.settings = { pendingSlotDeadlineMs: 5000 } }, 'settings.pendingSlotDeadlineMs')
  refused(d => { d.models = { 'jittered-backoff': { baseMs: 9000, capMs: 1000 } } }, 'models.jittered-backoff')
  // promotion-stall longer than the warm-up would be a switch: no one ever promotes.
  refused(d => { d.models = { 'promotion-stall': { minUptimeMs: 60_000 } } }, 'models.promotion-stall.minUptimeMs')
})

test('timeline: storms and injections must fit in the observation window; ids must be unique and exist', () => {
  refused(d => { storm(d).at = '115s' }, 'storms[0].at', 'at')
  refused(d => { d.injections = [{ at: '130s', count: 2, slots: 50 }] }, 'injections[0].at')
  refused(d => { d.storms = [base().storms, base().storms].flat() as unknown[]; (d.storms as Array<Record<string, unknown>>).forEach(s => { s.id = 'x' }) }, 'storms[1].id')
  refused(d => { storm(d).targets = 'p-001,p-099' }, 'storms[0].targets', 'targets')
  refused(d => { storm(d).shape = 'waves'; delete storm(d).window; storm(d).waves = 3 }, 'storms[0].gap')
})

test('sweeps: the storm, the load key and its values are checked', () => {
  const sweep = { stormShare: [0.1, 0.5], load: { key: 'peers', values: [10, 20] }, trials: 2 }
  assert.doesNotThrow(() => parseScenario(stringify({ ...base(), sweep })))
  refused(d => { d.sweep = { ...sweep, storm: 'nope' } }, 'sweep.storm')
  refused(d => { d.sweep = { ...sweep, load: { key: 'slotMax', values: [1] } } }, 'sweep.load.key')
  refused(d => { d.sweep = { ...sweep, load: { key: 'slotsMax', values: [0, 4] } } }, 'sweep.load.values[0]')
  refused(d => { d.sweep = { ...sweep, load: { key: 'peers', values: [1] } } }, 'sweep.load.values[0]')
  refused(d => { d.sweep = { ...sweep, stormShare: [1.5] } }, 'sweep.stormShare[0]')
  refused(d => { d.sweep = { ...sweep, load: { key: 'pendingSlotDeadlineMs', values: [1000] } } }, 'settings.pendingSlotDeadlineMs')
  refused(d => { storm(d).targets = 'p-001'; d.sweep = sweep }, 'storms[0].targets')
})

/** 20 users over 40 s: 0.5 arrivals/s, against one login at a time. */
const withOfferedLoad = (values: unknown[]) => (d: Record<string, unknown>): void => {
  (d.peers as Record<string, unknown>).rampUp = '40s'
  d.settings = { ...(d.settings as object), loginConcurrencyMax: 1, loginServiceMs: 1000, loginRatePerS: 100 }
  d.sweep = { stormShare: [0.1, 0.5], load: { key: 'offeredLoad', values }, trials: 2 }
}

test('an offeredLoad axis: each cell sets the loginServiceMs that makes arrivals that share of the login capacity', () => {
  const d = base()
  withOfferedLoad([0.25, 1, 2])(d)
  const l = parseScenario(stringify(d))
  assert.equal(l.scenario.sweep?.load.key, 'offeredLoad')
  assert.equal(offeredLoadOf(demandOf(l.scenario)), 0.5, 'the scenario itself: 0.5/s against 1/s')
  const cells = expandSweep(l.scenario, l.seed)
  assert.equal(cells.length, 2 * 3 * 2)
  for (const c of cells) {
    // The scenario's own loginServiceMs (1000) is replaced; peers and ramp-up stay.
    assert.equal(c.scenario.settings.loginServiceMs, { 0.25: 500, 1: 2000, 2: 4000 }[c.load])
    assert.equal(offeredLoadOf(demandOf(c.scenario)), c.load)
    assert.deepEqual(c.scenario.peers, l.scenario.peers)
    assert.equal((c.scenario.settings as Record<string, unknown>).offeredLoad, undefined, 'not a setting')
    assert.ok(c.label.includes(`loginServiceMs=${c.scenario.settings.loginServiceMs}`), c.label)
  }
  // Off the grid (adaptive refinement): the same rule.
  const off = sweepCell(l.scenario, l.seed, 0.3, 1, 0)
  assert.equal(off.scenario.settings.loginServiceMs, 2000)
  assert.equal(off.scenario.storms[0]?.storm.targets, 'fraction:0.3')
})

test('an offeredLoad axis: values above 0, a ramp-up, a rate limit that does not bind, a valid service time', () => {
  assert.doesNotThrow(() => { const d = base(); withOfferedLoad([0.5])(d); parseScenario(stringify(d)) })
  refused(withOfferedLoad([0.5, 0]), 'sweep.load.values[1]')
  refused(withOfferedLoad([-1]), 'sweep.load.values[0]')
  refused(d => { withOfferedLoad([0.5, 1])(d); delete (d.peers as Record<string, unknown>).rampUp }, 'peers.rampUp')
  // Said even when every value is wrong too.
  refused(d => { withOfferedLoad([0])(d); delete (d.peers as Record<string, unknown>).rampUp }, 'peers.rampUp')
  // 0.25 needs 2 logins/s, above a rate limit of 1/s.
  refused(d => { withOfferedLoad([0.5, 0.25])(d); (d.settings as Record<string, unknown>).loginRatePerS = 1 }, 'sweep.load.values[1]')
  // 50000 needs 100 000 000 ms per login: longer than a setting may be.
  refused(withOfferedLoad([50_000]), 'sweep.load.values[0]')
  // The schema's message names the value and what it would need.
  const d = base()
  withOfferedLoad([50_000])(d)
  assert.match(issuesOf(d).find(i => i.where === 'sweep.load.values[0]')?.message ?? '', /loginServiceMs 100000000/)
})

test('YAML syntax errors and duplicate keys give a line', () => {
  for (const text of ['name: a\n  bad: [\n', 'name: a\nname: b\n']) {
    assert.throws(() => parseScenario(text), (err: Error & { issues?: ScenarioIssue[] }) => err.name === 'ScenarioError' && typeof err.issues?.[0]?.line === 'number')
  }
})

test('the seed: an option beats the file; without either one is generated', () => {
  const text = stringify(base())
  assert.equal(parseScenario(text).seed, 'fixed')
  const o = parseScenario(text, 'x', { seed: 'mine' })
  assert.equal(o.seed, 'mine')
  assert.equal(o.seedSource, 'option')
  assert.equal(o.compiled.network.seed, 'mine')
  const d = base()
  delete d.seed
  const g = parseScenario(stringify(d), 'x', { entropy: () => new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) })
  assert.equal(g.seedSource, 'generated')
  assert.equal(g.seed, '0102030405060708')
  assert.throws(() => parseScenario(text, 'x', { seed: 'no/slashes' }), { name: 'ScenarioError' })
})

test('history-2007 and its tuned twin: the same patch days and joins on the same network, each storm with its own expectation', async () => {
  const a = await loadScenarioFile(join(dir, 'history-2007.yaml'))
  const b = await loadScenarioFile(join(dir, 'history-2007-tuned.yaml'))
  assert.deepEqual(a.scenario.storms.map(st => st.storm), b.scenario.storms.map(st => st.storm))
  assert.deepEqual(a.scenario.joins, b.scenario.joins)
  assert.deepEqual(a.compiled.network.peers, b.compiled.network.peers)
  assert.deepEqual(a.scenario.storms.map(st => st.expect), ['recovered', 'recovered', 'metastable'])
  assert.deepEqual(b.scenario.storms.map(st => st.expect), ['recovered', 'recovered', 'recovered'])
  // The population grows between the patch days, so each brings more logins than the last.
  const peersAt = (atMs: number): number => a.scenario.peers.count + a.scenario.joins.filter(j => j.atMs + j.overMs <= atMs).reduce((n, j) => n + j.count, 0)
  assert.deepEqual(a.scenario.storms.map(st => peersAt(st.atMs)), [20, 30, 70])
})
