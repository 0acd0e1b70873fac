import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LOGIN_NAME, PEERS_MAX, endpointRequests, peerName, planNetwork } from '../../orchestrator/network/plan.ts'
import { LOGIN_PORT, localEndpoint, peerIp } from '../../orchestrator/runtime/local-addresses.ts'

const usage = { name: 'UsageError' }

test('the plan is a function of the seed', () => {
  assert.deepEqual(planNetwork({ peers: 200, seed: 'abc' }), planNetwork({ peers: 200, seed: 'abc' }))
  const a = planNetwork({ peers: 200, seed: 'abc' }).peers.map(p => [p.capacityClass, p.reachable])
  const b = planNetwork({ peers: 200, seed: 'abd' }).peers.map(p => [p.capacityClass, p.reachable])
  assert.notDeepEqual(a, b)
})

test('peers have distinct names and (local) addresses, in order, and the login server has its own', () => {
  const plan = planNetwork({ peers: 1000, seed: 's' })
  assert.equal(plan.peers.length, 1000)
  assert.deepEqual(plan.peers.map(p => p.index), Array.from({ length: 1000 }, (_, i) => i + 1))
  assert.equal(new Set(plan.peers.map(p => p.name)).size, 1000)
  const endpoints = new Map(endpointRequests(plan).map(r => [r.name, localEndpoint(r)]))
  const ips = new Set(plan.peers.map(p => endpoints.get(p.name)?.listenHost))
  assert.equal(ips.size, 1000)
  assert.ok(!ips.has(endpoints.get(LOGIN_NAME)?.listenHost))
  assert.deepEqual(plan.login, { name: LOGIN_NAME })
  assert.deepEqual(endpoints.get(LOGIN_NAME), { listenHost: '127.1.0.1', dialHost: '127.1.0.1', port: LOGIN_PORT })
  assert.equal(plan.peers[0]?.name, 'p-0001')
  assert.equal(plan.seed, 's')
  assert.deepEqual(plan.settings, {})
})

test('the first peers are the bootstrap supernodes: capable and reachable', () => {
  const plan = planNetwork({ peers: 100, seed: 's', bootstrap: 4, capableShare: 0, reachableShare: 0 })
  assert.deepEqual(plan.peers.filter(p => p.bootstrap).map(p => p.index), [1, 2, 3, 4])
  for (const p of plan.peers) {
    if (p.bootstrap) {
      assert.equal(p.capacityClass, 3)
      assert.equal(p.reachable, true)
    } else {
      assert.ok(p.capacityClass < 2, `${p.name} class ${p.capacityClass} with capableShare 0`)
      assert.equal(p.reachable, false)
    }
  }
})

test('shares steer capacity and reachability', () => {
  const all = planNetwork({ peers: 300, seed: 's', capableShare: 1, reachableShare: 1 })
  for (const p of all.peers) {
    assert.ok(p.capacityClass >= 2 && p.capacityClass <= 3, `${p.name} ${p.capacityClass}`)
    assert.equal(p.reachable, true)
  }
  const def = planNetwork({ peers: 2000, seed: 's' }).peers.filter(p => !p.bootstrap)
  const capable = def.filter(p => p.capacityClass >= 2).length / def.length
  const reachable = def.filter(p => p.reachable).length / def.length
  assert.ok(Math.abs(capable - 0.3) < 0.05, `capable ${capable}`)
  assert.ok(Math.abs(reachable - 0.9) < 0.05, `reachable ${reachable}`)
})

test('default bootstrap count is max(2, ceil(1.2 * peers / slotsMax)), at most the peers', () => {
  const count = (peers: number, slotsMax?: number): number => planNetwork({ peers, seed: 's', ...(slotsMax !== undefined ? { settings: { slotsMax } } : {}) }).peers.filter(p => p.bootstrap).length
  assert.equal(count(1), 1)
  assert.equal(count(2), 2)
  assert.equal(count(33), 2) // default slotsMax 20: 1.2 * 33 / 20 = 1.98
  assert.equal(count(34), 3)
  assert.equal(count(200), 12)
  assert.equal(count(200, 50), 5)
  assert.equal(count(PEERS_MAX), 300)
})

test('explicit bootstrap count within 1..peers', () => {
  assert.equal(planNetwork({ peers: 5, seed: 's', bootstrap: 5 }).peers.every(p => p.bootstrap), true)
  assert.equal(planNetwork({ peers: 5, seed: 's', bootstrap: 1 }).peers.filter(p => p.bootstrap).length, 1)
  for (const bootstrap of [0, -1, 6, 1.5, Number.NaN]) {
    assert.throws(() => planNetwork({ peers: 5, seed: 's', bootstrap }), usage, String(bootstrap))
  }
})

test('bad peer counts and shares are UsageErrors', () => {
  for (const peers of [0, -3, PEERS_MAX + 1, 2.5, Number.NaN, Infinity]) {
    assert.throws(() => planNetwork({ peers, seed: 's' }), usage, String(peers))
  }
  for (const share of [-0.1, 1.1, Number.NaN]) {
    assert.throws(() => planNetwork({ peers: 5, seed: 's', capableShare: share }), usage, `capable ${share}`)
    assert.throws(() => planNetwork({ peers: 5, seed: 's', reachableShare: share }), usage, `reachable ${share}`)
  }
  assert.equal(planNetwork({ peers: PEERS_MAX, seed: 's' }).peers.length, PEERS_MAX)
})

test('settings are carried through', () => {
  assert.deepEqual(planNetwork({ peers: 3, seed: 's', settings: { slotsMax: 7 } }).settings, { slotsMax: 7 })
})

test('peerIp: known addresses at the edges of each block', () => {
  assert.equal(peerIp(1), '127.2.1.2')
  assert.equal(peerIp(249), '127.2.1.250')
  assert.equal(peerIp(250), '127.2.2.1')
  assert.equal(peerIp(251), '127.2.2.2')
  assert.equal(peerIp(PEERS_MAX), '127.2.21.1')
})

test('peerIp: every index in range gives a distinct, valid, non-broadcast loopback address', () => {
  const seen = new Set<string>()
  for (let i = 1; i <= PEERS_MAX; i++) {
    const ip = peerIp(i)
    const octets = ip.split('.').map(Number)
    assert.equal(octets.length, 4)
    assert.equal(octets[0], 127)
    for (const o of octets) assert.ok(Number.isInteger(o) && o >= 0 && o <= 255, ip)
    assert.ok((octets[3] as number) >= 1 && (octets[3] as number) <= 254, ip)
    seen.add(ip)
  }
  assert.equal(seen.size, PEERS_MAX)
})

test('peerIp: out of range is a UsageError', () => {
  for (const i of [0, -1, PEERS_MAX + 1, 1.5, Number.NaN]) assert.throws(() => peerIp(i), usage, String(i))
})

test('peerName pads to the width of the total, at least 3', () => {
  assert.equal(peerName(7, 20), 'p-007')
  assert.equal(peerName(7, 1000), 'p-0007')
  assert.equal(peerName(1000, 1000), 'p-1000')
})
