import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { KeyCounts, LimitCounts, idle, lingered, refuseInbound, refusePeer, remoteIp, surplus, sweepEveryMs, type ConnView, type TransportLimits } from '../../node/transport-limits.ts'

const LIMITS: TransportLimits = {
  connsMax: 100,
  connsPerPeerMax: 2,
  connsPerIpMax: 10,
  handshakesMax: 20,
  handshakesPerIpMax: 3,
  handshakeTimeoutMs: 20_000,
  connIdleMs: 60_000,
  streamLingerMs: 8000,
  streamsPerConnMax: 32,
  logIntervalMs: 10_000,
  misbehaviourMax: 20,
  misbehaviourWindowMs: 10_000,
  overBudgetMax: 100,
  banMs: 60_000,
  newcomerRatePerS: 50,
  newcomerBurst: 200,
  newcomerInFlightMax: 4,
  newcomerQueueMax: 64,
  newcomerHoldMs: 1000
}
const calm = { handshakes: 0, handshakesFromIp: 0, conns: 0, connsFromIp: 0 }

test('remoteIp takes the IP of a multiaddr, or empty', () => {
  assert.equal(remoteIp(multiaddr('/ip4/127.3.1.2/tcp/4001/p2p/12D3KooWHRG2hQWVnDmzLqMZcBjZzuMbaBbLGsxmPr8RXb9dC3ge')), '127.3.1.2')
  assert.equal(remoteIp(multiaddr('/ip6/::1/tcp/1')), '::1')
  assert.equal(remoteIp(multiaddr('/dns4/login/tcp/1')), '')
})

test('refuseInbound: each cap binds at its limit, not below; 0 switches the per-IP ones off', () => {
  assert.equal(refuseInbound(calm, LIMITS), null)
  assert.equal(refuseInbound({ ...calm, conns: 99 }, LIMITS), null)
  assert.equal(refuseInbound({ ...calm, conns: 100 }, LIMITS), 'conns-total')
  assert.equal(refuseInbound({ ...calm, connsFromIp: 9 }, LIMITS), null)
  assert.equal(refuseInbound({ ...calm, connsFromIp: 10 }, LIMITS), 'conns-per-ip')
  assert.equal(refuseInbound({ ...calm, handshakes: 19 }, LIMITS), null)
  assert.equal(refuseInbound({ ...calm, handshakes: 20 }, LIMITS), 'handshakes-total')
  assert.equal(refuseInbound({ ...calm, handshakesFromIp: 2 }, LIMITS), null)
  // Handshakes in progress count towards the connection caps.
  assert.equal(refuseInbound({ ...calm, connsFromIp: 8, handshakesFromIp: 2 }, LIMITS), 'conns-per-ip')
  assert.equal(refuseInbound({ ...calm, conns: 90, handshakes: 10 }, LIMITS), 'conns-total')
  assert.equal(refuseInbound({ ...calm, handshakesFromIp: 3 }, LIMITS), 'handshakes-per-ip')
  const off = { ...LIMITS, connsPerIpMax: 0, handshakesPerIpMax: 0 }
  assert.equal(refuseInbound({ ...calm, connsFromIp: 1e6, handshakesFromIp: 1e6 }, off), null)
})

test('refusePeer: a peer id holding connsPerPeerMax connections gets no more', () => {
  assert.equal(refusePeer(1, LIMITS), null)
  assert.equal(refusePeer(2, LIMITS), 'conns-per-peer')
  assert.equal(refusePeer(1000, { ...LIMITS, connsPerPeerMax: 0 }), null)
})

const conn = (id: string, o: Partial<ConnView> = {}): ConnView => ({ id, direction: 'inbound', openedMs: 0, streams: 0, lastActiveMs: 0, ...o })

test('surplus: the newest inbound connections beyond the cap go; outbound and older ones stay', () => {
  assert.deepEqual(surplus([conn('a'), conn('b', { openedMs: 5 })], LIMITS), [])
  const conns = [conn('old', { openedMs: 1 }), conn('out', { direction: 'outbound', openedMs: 9 }), conn('mid', { openedMs: 5 }), conn('new', { openedMs: 7 })]
  assert.deepEqual(surplus(conns, LIMITS), ['new', 'mid'])
  assert.deepEqual(surplus(conns, { ...LIMITS, connsPerPeerMax: 0 }), [])
})

test('idle: no stream open and no exchange for connIdleMs; 0 = never', () => {
  const conns = [conn('quiet', { lastActiveMs: 0 }), conn('busy', { streams: 1, lastActiveMs: 0 }), conn('recent', { lastActiveMs: 50_000 })]
  assert.deepEqual(idle(conns, 59_999, LIMITS), [])
  assert.deepEqual(idle(conns, 60_000, LIMITS), ['quiet'])
  assert.deepEqual(idle(conns, 1e9, { ...LIMITS, connIdleMs: 0 }), [])
})

test('lingered and sweepEveryMs', () => {
  assert.equal(lingered(1000, 8999, LIMITS), false)
  assert.equal(lingered(1000, 9000, LIMITS), true)
  assert.equal(lingered(0, 1e9, { ...LIMITS, streamLingerMs: 0 }), false)
  assert.equal(sweepEveryMs(LIMITS), 2000)
  assert.equal(sweepEveryMs({ ...LIMITS, connIdleMs: 0, streamLingerMs: 0 }), 0)
  assert.equal(sweepEveryMs({ ...LIMITS, streamLingerMs: 10 }), 50)
})

test('KeyCounts forgets a key at zero', () => {
  const k = new KeyCounts()
  k.inc('a'); k.inc('a'); k.inc('b')
  assert.equal(k.get('a'), 2)
  k.dec('a'); k.dec('a'); k.dec('b')
  assert.equal(k.size, 0)
  k.dec('c')
  assert.equal(k.get('c'), 0)
  assert.equal(k.size, 0)
})

test('LimitCounts: one record per reason and interval with the first sample; totals stay', () => {
  const c = new LimitCounts()
  assert.deepEqual(c.drain(), [])
  for (let i = 0; i < 500; i++) c.add('handshakes-per-ip', `127.9.0.${i % 3}`)
  c.add('conn-idle', 'peer-x')
  assert.deepEqual(c.drain(), [
    { reason: 'handshakes-per-ip', count: 500, sample: '127.9.0.0' },
    { reason: 'conn-idle', count: 1, sample: 'peer-x' }
  ])
  assert.deepEqual(c.drain(), [])
  assert.equal(c.total('handshakes-per-ip'), 500)
})
