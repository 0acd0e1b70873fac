/**
 * Population growth between patch days (a scenario's `joins`): validation, the
 * plan (late peers are the last ones, provisioned up front, never bootstrap),
 * the timeline, `patchday check`'s plan, the pacing of a join, and storms that
 * must not hit a peer before it joined.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stringify } from 'yaml'
import { parseScenario } from '../../orchestrator/scenario/load.ts'
import { joinStartMs } from '../../orchestrator/scenario/compile.ts'
import { checkScenario, formatCheck, type HostCosts } from '../../orchestrator/scenario/check.ts'
import { planNetwork, initialPeers, peersNow, PEERS_MAX } from '../../orchestrator/network/plan.ts'
import { runJoin, joinOffsetMs } from '../../orchestrator/network/join.ts'
import { stormablePeers } from '../../orchestrator/storm/run.ts'
import { planStorm, type StormSpec } from '../../orchestrator/storm/plan.ts'
import { NetworkState } from '../../orchestrator/analysis/state.ts'
import { formatPath } from '../../orchestrator/storm/fields.ts'
import type { ScenarioIssue } from '../../orchestrator/scenario/errors.ts'
import type { PeerEvent, Role } from '../../node/contract/events.ts'
import type { ProcessSpec } from '../../orchestrator/runtime/runtime.ts'

const base = (): Record<string, unknown> => ({
  name: 'grow',
  description: 'a network that grows',
  seed: 'fixed',
  timeScale: 0.5,
  peers: { count: 10, bootstrap: 2 },
  settings: { slotsMax: 8 },
  warmup: '30s',
  storms: [{ id: 'tue', at: '60s', targets: 'fraction:0.5', shape: 'uniform', window: '10s', bootDelay: '1s..5s' }],
  joins: [{ at: '20s', count: 4, over: '8s' }],
  observe: '120s'
})

function issuesOf (doc: Record<string, unknown>): Array<ScenarioIssue & { where: string }> {
  try {
    parseScenario(stringify(doc), 'grow.yaml')
  } catch (err) {
    assert.equal((err as Error).name, 'ScenarioError')
    return (err as { issues: ScenarioIssue[] }).issues.map(i => ({ ...i, where: formatPath(i.path) }))
  }
  assert.fail('expected a ScenarioError')
}

function refused (mutate: (d: Record<string, unknown>) => void, where: string, message?: RegExp): void {
  const d = base()
  mutate(d)
  const issues = issuesOf(d)
  const hit = issues.find(i => i.where === where)
  assert.ok(hit !== undefined, `expected an issue at ${where}, got ${issues.map(i => `${i.where}: ${i.message}`).join(' | ')}`)
  if (message !== undefined) assert.match(hit.message, message)
}

test('joins: a valid list is read in emulated ms; over defaults to 0 (at once); none by default', () => {
  const l = parseScenario(stringify(base()))
  assert.deepEqual(l.scenario.joins, [{ atMs: 20_000, count: 4, overMs: 8000 }])
  const d = base()
  d.joins = [{ at: '10s', count: 2 }]
  assert.deepEqual(parseScenario(stringify(d)).scenario.joins, [{ atMs: 10_000, count: 2, overMs: 0 }])
  delete d.joins
  const none = parseScenario(stringify(d))
  assert.deepEqual(none.scenario.joins, [])
  assert.ok(none.compiled.network.peers.every(p => p.late === undefined))
})

test('joins: bad entries are refused with their path', () => {
  refused(d => { d.joins = [{ at: '20s', count: 0, over: '1s' }] }, 'joins[0].count')
  refused(d => { d.joins = [{ at: '20s', count: 2.5 }] }, 'joins[0].count')
  refused(d => { d.joins = [{ at: '20s', count: 2, over: 'soon' }] }, 'joins[0].over')
  refused(d => { d.joins = [{ at: '20s', count: 2, rate: 3 }] }, 'joins[0].rate')
  refused(d => { d.joins = [{ count: 2 }] }, 'joins[0].at', /^required/)
  // It must end within the observation: at + over.
  refused(d => { d.joins = [{ at: '100s', count: 2, over: '30s' }] }, 'joins[0].over', /\(at \+ over\), after the end of observe/)
  refused(d => { d.joins = [{ at: '121s', count: 2 }] }, 'joins[0].at', /after the end of observe/)
  refused(d => { d.joins = Array.from({ length: 21 }, () => ({ at: '1s', count: 1 })) }, 'joins')
  // Everyone who will ever exist counts against the network's limit.
  refused(d => { d.joins = [{ at: '1s', count: PEERS_MAX - 9 }] }, 'joins', new RegExp(`at most ${PEERS_MAX}`))
  // A sweep over peers leaves room for the joiners.
  refused(d => { d.joins = [{ at: '1s', count: 10 }]; d.sweep = { stormShare: [0.5], load: { key: 'peers', values: [PEERS_MAX - 5] }, trials: 1 } }, 'sweep.load.values[0]')
  // A storm that names a peer before it joined.
  refused(d => { (d.storms as Array<Record<string, unknown>>)[0]!.targets = 'p-001,p-013'; d.joins = [{ at: '50s', count: 4, over: '40s' }] }, 'storms[0].targets', /p-013 joins at/)
  // Joined by the storm's time: fine.
  assert.doesNotThrow(() => parseScenario(stringify({ ...base(), storms: [{ id: 'x', at: '60s', targets: 'p-001,p-013', shape: 'uniform', window: '10s', bootDelay: '1s' }] })))
})

test('compile: the joiners are the last peers of the plan, never bootstrap, and the first ones are the network without joins', () => {
  const l = parseScenario(stringify(base()))
  const peers = l.compiled.network.peers
  assert.equal(peers.length, 14)
  assert.deepEqual(peers.filter(p => p.late === true).map(p => p.name), ['p-011', 'p-012', 'p-013', 'p-014'])
  assert.ok(peers.filter(p => p.late === true).every(p => !p.bootstrap))
  assert.deepEqual(initialPeers(l.compiled.network).map(p => p.name), peers.slice(0, 10).map(p => p.name))
  // Same seed, same network: the first ten are those of the scenario without joins.
  const d = base()
  delete d.joins
  assert.deepEqual(parseScenario(stringify(d)).compiled.network.peers, peers.slice(0, 10))
  assert.deepEqual(parseScenario(stringify(base())).compiled.network, l.compiled.network)
  // Models see every peer that will ever exist (their shares are drawn over all of them).
  assert.deepEqual(Object.keys(parseScenario(stringify({ ...base(), models: { 'crashing-version': { share: 1 } } })).compiled.applied.perPeer).sort(), peers.map(p => p.name))
})

test('compile: joins take the late peers in time order and sit in the timeline by time, after a storm at the same time', () => {
  const d = base()
  d.storms = [{ id: 'a', at: '40s', targets: 'fraction:0.5', shape: 'uniform', window: '10s', bootDelay: '1s' }]
  d.joins = [{ at: '40s', count: 3, over: '6s' }, { at: '10s', count: 2 }]
  const c = parseScenario(stringify(d)).compiled
  assert.deepEqual(c.timeline.map(e => [e.kind, e.atMs]), [['join', 10_000], ['storm', 40_000], ['join', 40_000]])
  const joins = c.timeline.filter(e => e.kind === 'join')
  assert.deepEqual(joins.map(e => e.names), [['p-011', 'p-012'], ['p-013', 'p-014', 'p-015']])
  const last = joins[1]!
  assert.deepEqual(last.names.map((_, k) => joinStartMs(last, k)), [40_000, 42_000, 44_000])
  assert.deepEqual([0, 1, 2, 3].map(k => joinOffsetMs(k, 4, 1000)), [0, 250, 500, 750])
})

test('a default bootstrap count is sized for the peers that start the network; bootstrap cannot include a late peer', () => {
  const grown = planNetwork({ peers: 400, late: 300, seed: 's', settings: { slotsMax: 10 } })
  assert.equal(grown.peers.filter(p => p.bootstrap).length, planNetwork({ peers: 100, seed: 's', settings: { slotsMax: 10 } }).peers.filter(p => p.bootstrap).length)
  assert.throws(() => planNetwork({ peers: 10, late: 9, bootstrap: 2, seed: 's' }), { name: 'UsageError' })
  assert.throws(() => planNetwork({ peers: 10, late: 10, seed: 's' }), { name: 'UsageError' })
  assert.equal(peersNow(grown.peers, n => n === 'p-101'), 101)
})

const host: HostCosts = { cores: 2, restartCpuS: 0.5, utilization: 0.5 }

test('check: the joins, the peak and the peers a storm can hit by then', () => {
  const d = base()
  d.storms = [
    { id: 'before', at: '10s', targets: 'all', shape: 'uniform', window: '10s', bootDelay: '1s' },
    { id: 'after', at: '60s', targets: 'all', shape: 'uniform', window: '10s', bootDelay: '1s' }
  ]
  const k = checkScenario(parseScenario(stringify(d)).compiled, host)
  assert.equal(k.peers, 10)
  assert.equal(k.peakPeers, 14)
  assert.deepEqual(k.joins, [{ atS: 10, count: 4, overS: 4, first: 'p-011', last: 'p-014' }])
  assert.deepEqual(k.storms.map(s => s.restarts), [10, 14])
  const text = formatCheck(k, host, 'local')
  assert.match(text, /join: at \+10\.0 s, 4 peers \(p-011\.\.p-014\) over 4\.0 s/)
  assert.match(text, /peak: 14 peers/)
  assert.doesNotMatch(formatCheck(checkScenario(parseScenario(stringify({ ...base(), joins: [] })).compiled, host), host, 'local'), /peak/)
})

const booted = (peer: string, role: Role): PeerEvent =>
  ({ time: 1, run: 'r', peer, inc: 1, role, ev: 'boot', pid: 1, addr: '/ip4/127.0.0.1/tcp/1', capacityClass: 1, bootstrap: false, hostCacheSize: 0, firstBoot: true, cpuUs: 1 }) as unknown as PeerEvent

test('storm targets: a late peer not joined yet is never hit, even when it looks running; once joined it can be', () => {
  const state = new NetworkState()
  for (const p of ['p-001', 'p-002', 'p-003', 'p-011']) state.apply(booted(p, p === 'p-001' ? 'supernode' : 'client'))
  const running = new Set(['p-001', 'p-002', 'p-003', 'p-011'])
  const notJoined = new Set(['p-011', 'p-012'])
  assert.deepEqual(stormablePeers(state, running, notJoined).map(p => p.name), ['p-001', 'p-002', 'p-003'])
  assert.deepEqual(stormablePeers(state, running).map(p => p.name), ['p-001', 'p-002', 'p-003', 'p-011'])
  const spec: StormSpec = { id: 's', targets: 'all', shape: { kind: 'all-at-once' }, shutdown: 'power-cut', bootDelay: { kind: 'fixed', ms: 0 }, graceMs: 0 } as unknown as StormSpec
  const plan = planStorm('seed', spec, stormablePeers(state, running, notJoined))
  assert.ok(!plan.targets.includes('p-011'))
  assert.ok(!plan.ops.some(o => o.target === 'p-011'))
  notJoined.delete('p-011')
  assert.ok(planStorm('seed', spec, stormablePeers(state, running, notJoined)).targets.includes('p-011'))
})

test('a join journals its peers once, then starts them in order at their offsets; a failed start is reported, not thrown', async () => {
  const events: Array<{ name: string, payload: unknown }> = []
  const startedAt: Array<[string, number]> = []
  const t0 = Date.now()
  const r = await runJoin({
    runtime: { start: async (spec: ProcessSpec) => { if (spec.name === 'p-013') throw new Error('no such container'); startedAt.push([spec.name, Date.now() - t0]) } },
    journal: { event: (name: string, payload: unknown) => { events.push({ name, payload }) } } as never,
    names: ['p-011', 'p-012', 'p-013', 'p-014'],
    overMs: 200,
    specFor: name => ({ name, role: 'peer', env: {} }),
    onStarted: () => {}
  })
  assert.deepEqual(events, [{ name: 'join', payload: { names: ['p-011', 'p-012', 'p-013', 'p-014'], overMs: 200 } }])
  assert.deepEqual(r.started, ['p-011', 'p-012', 'p-014'])
  assert.deepEqual(r.failed.map(f => f.name), ['p-013'])
  assert.equal(r.aborted, false)
  assert.deepEqual(startedAt.map(([n]) => n), ['p-011', 'p-012', 'p-014'])
  // Never before its offset (0, 50, 100, 150 ms).
  for (const [name, at] of startedAt) assert.ok(at >= joinOffsetMs(['p-011', 'p-012', 'p-013', 'p-014'].indexOf(name), 4, 200) - 1, `${name} at ${at}`)

  const ctl = new AbortController()
  ctl.abort()
  const stopped = await runJoin({ runtime: { start: async () => {} }, journal: { event: () => {} } as never, names: ['a', 'b'], overMs: 1000, specFor: name => ({ name, role: 'peer', env: {} }), onStarted: () => {}, signal: ctl.signal })
  assert.equal(stopped.aborted, true)
  assert.deepEqual(stopped.started, [])
})
