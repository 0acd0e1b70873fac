import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decide, eligible, shortage, type ElectionObservation, type ElectionSettings } from '../../node/election.ts'

const S: ElectionSettings = {
  minCapacityClass: 2,
  minUptimeMs: 10_000,
  promoteProb: 0.25,
  loadHigh: 0.8,
  loadLow: 0.3,
  busyWindowMs: 30_000,
  demoteIdleMs: 60_000,
  demoteProb: 0.1,
  minSupernodes: 2,
  shortageBypassUptime: false
}
const NOW = 1_000_000

/** An eligible client that sees no shortage. */
const client = (over: Partial<ElectionObservation> = {}): ElectionObservation => ({
  now: NOW,
  role: 'client',
  bootstrap: false,
  capacityClass: 2,
  reachable: true,
  uptimeMs: 20_000,
  lastBusyAt: null,
  online: false,
  knownSupernodes: 5,
  meanLoad: 0.5,
  clients: 0,
  idleSince: null,
  ...over
})

/** A supernode that meets every condition for demotion. */
const idleSupernode = (over: Partial<ElectionObservation> = {}): ElectionObservation => ({
  ...client(),
  role: 'supernode',
  clients: 0,
  idleSince: NOW - 60_000,
  knownSupernodes: 3,
  meanLoad: 0.3,
  ...over
})

/** A random source that records how often it was drawn. */
function draws (value: number): { random: () => number, count: () => number } {
  let n = 0
  return { random: () => { n++; return value }, count: () => n }
}

test('a client with no shortage stays, without drawing', () => {
  const r = draws(0)
  assert.deepEqual(decide(S, client(), r.random), { action: 'stay', reason: 'supply-ok' })
  assert.equal(r.count(), 0)
})

test('promotion for each kind of shortage when eligible and drawn', () => {
  assert.deepEqual(decide(S, client({ lastBusyAt: NOW - 1000 }), () => 0), { action: 'promote', reason: 'shortage:busy' })
  assert.deepEqual(decide(S, client({ knownSupernodes: 1 }), () => 0), { action: 'promote', reason: 'shortage:few' })
  assert.deepEqual(decide(S, client({ meanLoad: 0.9 }), () => 0), { action: 'promote', reason: 'shortage:load' })
})

test('busy counts only within the window (inclusive)', () => {
  assert.equal(shortage(S, client({ lastBusyAt: NOW - 30_000 })), 'shortage:busy')
  assert.equal(shortage(S, client({ lastBusyAt: NOW - 30_001 })), null)
  assert.equal(shortage(S, client({ lastBusyAt: NOW })), 'shortage:busy')
  assert.equal(decide(S, client({ lastBusyAt: NOW - 30_001 }), () => 0).action, 'stay')
})

test('few supernodes means strictly fewer than the minimum', () => {
  assert.equal(shortage(S, client({ knownSupernodes: 1 })), 'shortage:few')
  assert.equal(shortage(S, client({ knownSupernodes: 0 })), 'shortage:few')
  assert.equal(shortage(S, client({ knownSupernodes: 2 })), null)
})

test('high load means at least loadHigh; unknown load is no shortage', () => {
  assert.equal(shortage(S, client({ meanLoad: 0.8 })), 'shortage:load')
  assert.equal(shortage(S, client({ meanLoad: 0.79 })), null)
  assert.equal(shortage(S, client({ meanLoad: null })), null)
})

test('the busy reason comes before few, and few before load', () => {
  assert.equal(shortage(S, client({ lastBusyAt: NOW, knownSupernodes: 0, meanLoad: 1 })), 'shortage:busy')
  assert.equal(shortage(S, client({ knownSupernodes: 0, meanLoad: 1 })), 'shortage:few')
})

test('promotion only when drawn below promoteProb', () => {
  const short = client({ meanLoad: 0.95 })
  assert.equal(decide(S, short, () => 0.2499).action, 'promote')
  assert.deepEqual(decide(S, short, () => 0.25), { action: 'stay', reason: 'not-drawn' })
  assert.deepEqual(decide(S, short, () => 0.999), { action: 'stay', reason: 'not-drawn' })
  assert.equal(decide({ ...S, promoteProb: 0 }, short, () => 0).action, 'stay')
  assert.equal(decide({ ...S, promoteProb: 1 }, short, () => 0.999).action, 'promote')
})

test('an ineligible client never promotes, and says why without drawing', () => {
  const cases: Array<[Partial<ElectionObservation>, string]> = [
    [{ reachable: false }, 'ineligible:unreachable'],
    [{ capacityClass: 1 }, 'ineligible:capacity'],
    [{ uptimeMs: 9_999 }, 'ineligible:uptime']
  ]
  for (const [over, reason] of cases) {
    const r = draws(0)
    assert.deepEqual(decide(S, client({ knownSupernodes: 0, ...over }), r.random), { action: 'stay', reason })
    assert.equal(r.count(), 0, reason)
  }
})

test('eligible: reachable first, then capacity, then uptime; bounds inclusive', () => {
  assert.equal(eligible(S, client()), null)
  assert.equal(eligible(S, client({ capacityClass: 2, uptimeMs: 10_000 })), null)
  assert.equal(eligible(S, client({ reachable: false, capacityClass: 0, uptimeMs: 0 })), 'unreachable')
  assert.equal(eligible(S, client({ capacityClass: 0, uptimeMs: 0 })), 'capacity')
  assert.equal(eligible(S, client({ uptimeMs: 0 })), 'uptime')
})

test('a supernode that meets every condition demotes when drawn', () => {
  assert.deepEqual(decide(S, idleSupernode(), () => 0), { action: 'demote', reason: 'idle' })
  assert.deepEqual(decide(S, idleSupernode(), () => 0.0999), { action: 'demote', reason: 'idle' })
  assert.deepEqual(decide(S, idleSupernode(), () => 0.1), { action: 'stay', reason: 'not-drawn' })
})

test('a bootstrap supernode never demotes', () => {
  const r = draws(0)
  assert.deepEqual(decide(S, idleSupernode({ bootstrap: true, idleSince: 0, knownSupernodes: 100, meanLoad: 0 }), r.random), { action: 'stay', reason: 'bootstrap' })
  assert.deepEqual(decide({ ...S, demoteProb: 1 }, idleSupernode({ bootstrap: true }), () => 0), { action: 'stay', reason: 'bootstrap' })
  assert.equal(r.count(), 0)
})

test('a supernode with clients, or never idle, keeps serving', () => {
  assert.deepEqual(decide(S, idleSupernode({ clients: 1 }), () => 0), { action: 'stay', reason: 'serving' })
  assert.deepEqual(decide(S, idleSupernode({ idleSince: null }), () => 0), { action: 'stay', reason: 'serving' })
})

test('demotion only after idling demoteIdleMs', () => {
  assert.deepEqual(decide(S, idleSupernode({ idleSince: NOW - 59_999 }), () => 0), { action: 'stay', reason: 'idle-recently' })
  assert.equal(decide(S, idleSupernode({ idleSince: NOW - 60_000 }), () => 0).action, 'demote')
})

test('demotion only when supply is ample: strictly more supernodes than the minimum', () => {
  assert.deepEqual(decide(S, idleSupernode({ knownSupernodes: 2 }), () => 0), { action: 'stay', reason: 'supply-low' })
  assert.deepEqual(decide(S, idleSupernode({ knownSupernodes: 0 }), () => 0), { action: 'stay', reason: 'supply-low' })
  assert.equal(decide(S, idleSupernode({ knownSupernodes: 3 }), () => 0).action, 'demote')
})

test('demotion only when the load is known and low', () => {
  assert.deepEqual(decide(S, idleSupernode({ meanLoad: 0.31 }), () => 0), { action: 'stay', reason: 'load-high' })
  assert.deepEqual(decide(S, idleSupernode({ meanLoad: null }), () => 0), { action: 'stay', reason: 'load-high' })
  assert.equal(decide(S, idleSupernode({ meanLoad: 0 }), () => 0).action, 'demote')
})

test('a supernode does not promote and a client does not demote', () => {
  // A supernode during a shortage stays a supernode (no 'promote' for it).
  assert.equal(decide(S, idleSupernode({ lastBusyAt: NOW, clients: 3, idleSince: null }), () => 0).action, 'stay')
  // A client with nothing to do and ample supply stays a client.
  assert.equal(decide(S, client({ idleSince: 0, knownSupernodes: 100, meanLoad: 0 }), () => 0).action, 'stay')
})

test('demand-driven promotion: with shortageBypassUptime a young peer promotes during a shortage; without it, it stalls', () => {
  const young = client({ uptimeMs: 1_000, lastBusyAt: NOW - 1_000 })
  assert.deepEqual(decide(S, young, () => 0), { action: 'stay', reason: 'ineligible:uptime' })
  assert.deepEqual(decide({ ...S, shortageBypassUptime: true }, young, () => 0), { action: 'promote', reason: 'shortage:busy' })
  // The bypass lifts only the uptime gate, never reachability or capacity.
  assert.deepEqual(decide({ ...S, shortageBypassUptime: true }, { ...young, capacityClass: 0 }, () => 0), { action: 'stay', reason: 'ineligible:capacity' })
  assert.deepEqual(decide({ ...S, shortageBypassUptime: true }, { ...young, reachable: false }, () => 0), { action: 'stay', reason: 'ineligible:unreachable' })
})

test('a busy answer is no shortage for a peer that got online after all', () => {
  assert.equal(shortage(S, client({ lastBusyAt: NOW - 1000, online: true })), null)
  assert.deepEqual(decide(S, client({ lastBusyAt: NOW - 1000, online: true }), () => 0), { action: 'stay', reason: 'supply-ok' })
  // Load and scarcity still count for an online peer.
  assert.equal(shortage(S, client({ online: true, meanLoad: 0.9 })), 'shortage:load')
  assert.equal(shortage(S, client({ online: true, knownSupernodes: 1 })), 'shortage:few')
})
