import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkState, median } from '../../orchestrator/analysis/state.ts'
import type { EventName, EventPayloads, PeerEvent, Role } from '../../node/contract/events.ts'

let clock = 1_000
/** One contract event, as a peer would log it; time advances by 1 ms per event unless given. */
function ev<E extends EventName> (peer: string, inc: number, role: Role, name: E, payload: EventPayloads[E], time = ++clock): PeerEvent {
  return { time, run: 'run-1', peer, inc, role, ev: name, ...payload } as unknown as PeerEvent
}

const boot = (peer: string, inc: number, role: Role = 'client'): PeerEvent =>
  ev(peer, inc, role, 'boot', { pid: 100 + inc, addr: `/ip4/127.2.1.2/tcp/4001`, capacityClass: 1, bootstrap: role === 'supernode', hostCacheSize: 2, firstBoot: inc === 1, cpuUs: 1 })
const online = (peer: string, inc: number, sn: string | null, role: Role = 'client'): PeerEvent => ev(peer, inc, role, 'online', { sn, sinceBootMs: 50 })

function fold (events: PeerEvent[]): NetworkState {
  const s = new NetworkState()
  for (const e of events) s.apply(e)
  return s
}

test('boot puts a peer in attaching, online sets its supernode, offline takes it back to attaching', () => {
  const s = new NetworkState()
  s.apply(boot('p-001', 1))
  assert.deepEqual(s.peers.get('p-001'), { peer: 'p-001', inc: 1, role: 'client', phase: 'attaching', sn: null, clients: 0, lastTime: clock })
  s.apply(online('p-001', 1, 'p-002'))
  assert.equal(s.peers.get('p-001')?.phase, 'online')
  assert.equal(s.peers.get('p-001')?.sn, 'p-002')
  s.apply(ev('p-001', 1, 'client', 'offline', { reason: 'heartbeat-lost', sn: 'p-002' }))
  assert.equal(s.peers.get('p-001')?.phase, 'attaching')
  assert.equal(s.peers.get('p-001')?.sn, null)
  assert.equal(s.peers.get('p-001')?.lastTime, clock)
})

test('a peer first seen by a line other than boot is booting', () => {
  const s = fold([ev('p-001', 1, 'client', 'attach.failed', { sn: 'p-002', reason: 'busy', latencyMs: 3, round: 1 })])
  assert.equal(s.peers.get('p-001')?.phase, 'booting')
})

test('shutdown marks the peer offline', () => {
  const s = fold([boot('p-001', 1), online('p-001', 1, 'p-002'), ev('p-001', 1, 'client', 'shutdown', { signal: 'SIGTERM' })])
  assert.equal(s.peers.get('p-001')?.phase, 'offline')
  assert.equal(s.peers.get('p-001')?.sn, null)
})

test('promotion makes a supernode, demotion a client with no clients', () => {
  const s = fold([
    boot('p-003', 1),
    online('p-003', 1, 'p-001'),
    ev('p-003', 1, 'client', 'promoted', { reason: 'shortage:busy', uptimeMs: 5000 })
  ])
  assert.equal(s.peers.get('p-003')?.role, 'supernode')
  assert.equal(s.peers.get('p-003')?.sn, null)
  s.apply(ev('p-003', 1, 'supernode', 'client.joined', { client: 'p-004', clients: 1, slotsMax: 20 }))
  s.apply(ev('p-003', 1, 'supernode', 'client.joined', { client: 'p-005', clients: 2, slotsMax: 20 }))
  assert.equal(s.peers.get('p-003')?.clients, 2)
  s.apply(ev('p-003', 1, 'supernode', 'client.left', { client: 'p-004', reason: 'timeout', clients: 1 }))
  assert.equal(s.peers.get('p-003')?.clients, 1)
  s.apply(ev('p-003', 1, 'supernode', 'demoted', { reason: 'idle', clients: 1 }))
  assert.equal(s.peers.get('p-003')?.role, 'client')
  assert.equal(s.peers.get('p-003')?.clients, 0)
})

test('stats update the client count only when they carry one', () => {
  const counters = { msgsSent: 1, msgsRecv: 1, bytesSent: 1, bytesRecv: 1, peersContacted: 1, peersContactedInterval: 1, dialsOk: 1, dialsFailed: 0, cpuUserUs: 1, cpuSystemUs: 1, rssBytes: 1 }
  const s = fold([boot('p-002', 1, 'supernode'), ev('p-002', 1, 'supernode', 'stats', { ...counters, clients: 7 })])
  assert.equal(s.peers.get('p-002')?.clients, 7)
  s.apply(ev('p-002', 1, 'supernode', 'stats', counters))
  assert.equal(s.peers.get('p-002')?.clients, 7)
})

test('a later incarnation replaces the earlier one', () => {
  const s = fold([
    boot('p-002', 1, 'supernode'),
    ev('p-002', 1, 'supernode', 'client.joined', { client: 'p-001', clients: 4, slotsMax: 20 }),
    online('p-002', 1, null, 'supernode'),
    boot('p-002', 2, 'client')
  ])
  assert.deepEqual(s.peers.get('p-002'), { peer: 'p-002', inc: 2, role: 'client', phase: 'attaching', sn: null, clients: 0, lastTime: clock })
})

test('a new incarnation whose boot line was missed still replaces the old one', () => {
  const s = fold([boot('p-001', 1), online('p-001', 1, 'p-002'), online('p-001', 3, 'p-009')])
  assert.equal(s.peers.get('p-001')?.inc, 3)
  assert.equal(s.peers.get('p-001')?.phase, 'online')
  assert.equal(s.peers.get('p-001')?.sn, 'p-009')
})

test('late lines from an older incarnation are ignored', () => {
  const s = fold([boot('p-001', 1), boot('p-001', 2)])
  const before = structuredClone(s.peers.get('p-001'))
  s.apply(online('p-001', 1, 'p-002'))
  s.apply(ev('p-001', 1, 'supernode', 'promoted', { reason: 'shortage:few', uptimeMs: 1 }))
  s.apply(ev('p-001', 1, 'client', 'shutdown', { signal: 'SIGTERM' }))
  assert.deepEqual(s.peers.get('p-001'), before)
})

test('orchestrator lines are ignored; the login server only sets loginUp', () => {
  const s = new NetworkState()
  s.apply(ev('orchestrator', 1, 'orchestrator', 'net.up', { peers: 3, seed: 's' }))
  s.apply(boot('login', 1, 'login'))
  assert.equal(s.loginUp, true)
  s.apply(ev('login', 1, 'login', 'login.served', { account: 'u', outcome: 'ok', queueMs: 1, cpuUs: 1 }))
  assert.equal(s.peers.size, 0)
  s.apply(ev('login', 1, 'login', 'shutdown', { signal: 'SIGTERM' }))
  assert.equal(s.loginUp, false)
  assert.equal(s.peers.size, 0)
})

test('markDead takes peers the runtime does not see running offline, and leaves the others', () => {
  const s = fold([boot('p-001', 1), online('p-001', 1, 'p-002'), boot('p-002', 1, 'supernode'), online('p-002', 1, null, 'supernode')])
  s.markDead(new Set(['p-002']))
  assert.equal(s.peers.get('p-001')?.phase, 'offline')
  assert.equal(s.peers.get('p-001')?.sn, null)
  assert.equal(s.peers.get('p-002')?.phase, 'online')
})

test('summary counts phases, unseen peers as booting, and the load of live supernodes', () => {
  const s = fold([
    boot('login', 1, 'login'),
    boot('p-001', 1, 'supernode'), online('p-001', 1, null, 'supernode'),
    ev('p-001', 1, 'supernode', 'client.joined', { client: 'p-004', clients: 3, slotsMax: 20 }),
    boot('p-002', 1, 'supernode'), online('p-002', 1, null, 'supernode'),
    ev('p-002', 1, 'supernode', 'client.joined', { client: 'p-005', clients: 1, slotsMax: 20 }),
    boot('p-003', 1, 'supernode'),
    ev('p-003', 1, 'supernode', 'client.joined', { client: 'p-006', clients: 8, slotsMax: 20 }),
    ev('p-003', 1, 'supernode', 'shutdown', { signal: 'SIGTERM' }), // an offline supernode does not count
    boot('p-004', 1), online('p-004', 1, 'p-001'),
    boot('p-005', 1), online('p-005', 1, 'p-002'),
    boot('p-006', 1),
    ev('p-007', 1, 'client', 'attach.failed', { sn: 'p-001', reason: 'timeout', latencyMs: 1, round: 1 })
  ])
  assert.deepEqual(s.summary(10), {
    peers: 10,
    online: 4,
    attaching: 1,
    booting: 4, // p-007 plus three never seen
    offline: 1,
    supernodes: 2,
    clientsPerSupernode: { median: 2, max: 3 },
    loginServer: true
  })
})

test('summary of an empty state', () => {
  assert.deepEqual(new NetworkState().summary(3), {
    peers: 3, online: 0, attaching: 0, booting: 3, offline: 0, supernodes: 0, clientsPerSupernode: { median: 0, max: 0 }, loginServer: false
  })
})

test('summary after markDead counts the dead as offline and drops their supernodes', () => {
  const s = fold([boot('p-001', 1, 'supernode'), online('p-001', 1, null, 'supernode'), boot('p-002', 1), online('p-002', 1, 'p-001')])
  s.markDead(new Set(['p-002']))
  const sum = s.summary(2)
  assert.equal(sum.online, 1)
  assert.equal(sum.offline, 1)
  assert.equal(sum.supernodes, 0)
})

test('no phase count of the summary is negative', () => {
  const s = fold([boot('p-001', 1), online('p-001', 1, 'p-9'), boot('p-002', 1), online('p-002', 1, 'p-9'), boot('sn-x1', 1, 'supernode'), online('sn-x1', 1, null, 'supernode')])
  const sum = s.summary(2)
  for (const k of ['online', 'attaching', 'booting', 'offline'] as const) assert.ok(sum[k] >= 0, `${k} = ${sum[k]}`)
})

test('median of sorted numbers', () => {
  assert.equal(median([]), 0)
  assert.equal(median([4]), 4)
  assert.equal(median([1, 3]), 2)
  assert.equal(median([1, 2, 9]), 2)
  assert.equal(median([1, 2, 4, 9]), 3)
})
