/**
 * The pure parts of issue 8's application-level hardening: signed supernode
 * records, the host cache's trust bounds, the per-key token buckets behind the
 * per-peer and per-account limits, the retry-hint clamp and the log limiter.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { signRecord, verifyRecord } from '../../node/sn-record.ts'
import { HostCache } from '../../node/host-cache.ts'
import { BucketMap } from '../../node/token-bucket.ts'
import { clampRetryHint } from '../../node/retry-hint.ts'
import { LogLimiter } from '../../node/log-limiter.ts'
import type { SnInfo } from '../../node/protocol/messages.ts'

const TTL = 60_000
const addrOf = (key: PrivateKey, n = 1): string => `/ip4/127.9.9.${n}/tcp/4001/p2p/${peerIdFromPrivateKey(key).toString()}`
const record = (key: PrivateKey, over: Partial<Omit<SnInfo, 'sig'>> = {}): SnInfo =>
  signRecord(key, { name: 'sn-a', addr: addrOf(key), load: 0.25, issuedAt: 1000, exp: 1000 + TTL, ...over })

test('a signed record verifies against the peer id in its address', async () => {
  const key = await generateKeyPair('Ed25519')
  const r = record(key)
  assert.equal(verifyRecord(r, 2000, TTL, TTL), peerIdFromPrivateKey(key).toString())
  // Verified twice (the cache), same answer.
  assert.equal(verifyRecord(r, 2000, TTL, TTL), peerIdFromPrivateKey(key).toString())
})

test('a record is refused when any signed field changed, when signed by another key, expired, from the future or too long-lived', async () => {
  const key = await generateKeyPair('Ed25519')
  const other = await generateKeyPair('Ed25519')
  const r = record(key)
  const bad: Array<[string, SnInfo, number]> = [
    ['load changed', { ...r, load: 0 }, 2000],
    ['name changed', { ...r, name: 'sn-b' }, 2000],
    ['address changed', { ...r, addr: addrOf(key, 2) }, 2000],
    ['issuedAt changed', { ...r, issuedAt: 1500 }, 2000],
    ['signed by another key for this address', { ...record(other), addr: r.addr }, 2000],
    ['claims another peer id', { ...r, addr: addrOf(other) }, 2000],
    ['no peer id', { ...r, addr: '/ip4/127.9.9.1/tcp/4001' }, 2000],
    ['not a multiaddr', { ...r, addr: 'nonsense' }, 2000],
    ['truncated signature', { ...r, sig: 'AAAA' }, 2000],
    ['expired', r, 1000 + TTL],
    ['issued in the future', record(key, { issuedAt: 2000 + TTL + 1, exp: 2000 + TTL + 2 }), 2000],
    ['too long a life', record(key, { exp: 1000 + TTL + 1 }), 2000]
  ]
  for (const [what, rec, now] of bad) assert.throws(() => verifyRecord(rec, now, TTL, TTL), { name: 'InvalidRecordError' }, what)
})

const heard = (name: string, addr: string, load = 0, issuedAt = 100): { name: string, addr: string, load: number, issuedAt: number, exp: number, sig: string } =>
  ({ name, addr, load, issuedAt, exp: issuedAt + TTL, sig: `sig-${name}` })

test('host cache: one source adds at most sourceMax entries', () => {
  const c = new HostCache(100, [], { sourceMax: 3, gossipFailMax: 2 })
  const outcomes = Array.from({ length: 10 }, (_, i) => c.hear(heard(`x-${i}`, `a-${i}`), 'attacker'))
  assert.deepEqual(outcomes, ['added', 'added', 'added', ...Array(7).fill('source-cap')])
  assert.equal(c.fromSource('attacker'), 3)
  assert.equal(c.hear(heard('y-1', 'b-1'), 'honest'), 'added')
})

test('host cache: hearsay never re-addresses or displaces a trusted entry', () => {
  const c = new HostCache(3, [], { sourceMax: 100, gossipFailMax: 2 })
  c.learn('boot', 'real-boot', null, 10, 'bootstrap')
  c.learn('direct', 'real-direct', 0.5, 10)
  c.learn('direct2', 'real-direct2', 0.5, 10)
  assert.equal(c.hear(heard('boot', 'evil', 0, 999), 'attacker'), 'conflict')
  assert.equal(c.hear(heard('direct', 'evil', 0, 999), 'attacker'), 'conflict')
  // Full of trusted entries: a load-0 newcomer by hearsay does not get in.
  assert.equal(c.hear(heard('new', 'evil'), 'attacker'), 'full')
  assert.deepEqual(c.all().map(e => e.addr).sort(), ['real-boot', 'real-direct', 'real-direct2'])
  // The real supernode's own record (same address) updates its entry.
  assert.equal(c.hear(heard('boot', 'real-boot', 0.3, 50), 'someone'), 'updated')
  assert.equal(c.get('boot')?.load, 0.3)
  assert.equal(c.get('boot')?.trust, 'bootstrap')
})

test('host cache: a newer record of the same identity at a new address re-addresses a trusted entry; another identity cannot', () => {
  const c = new HostCache(10, [], { sourceMax: 100, gossipFailMax: 2 })
  const at = (ip: string, id: string): string => `/ip4/${ip}/tcp/4001/p2p/${id}`
  c.learn('sn', at('10.0.0.5', 'idA'), 0.5, 10)
  // A restarted supernode with another IP, signed by its own key (the same peer id): followed.
  assert.equal(c.hear(heard('sn', at('10.0.0.9', 'idA'), 0.1, 50), 'someone'), 'updated')
  assert.equal(c.get('sn')?.addr, at('10.0.0.9', 'idA'))
  assert.equal(c.get('sn')?.trust, undefined, 'still first-hand')
  // Older than what we know: not followed. Another identity claiming the name: a conflict.
  assert.equal(c.hear(heard('sn', at('10.0.0.7', 'idA'), 0.1, 40), 'someone'), 'conflict')
  assert.equal(c.hear(heard('sn', at('10.0.0.8', 'idB'), 0, 999), 'attacker'), 'conflict')
  assert.equal(c.get('sn')?.addr, at('10.0.0.9', 'idA'))
})

test('host cache: a full cache makes room for hearsay only by dropping hearsay', () => {
  const c = new HostCache(2, [], { sourceMax: 100, gossipFailMax: 2 })
  c.learn('trusted', 't', null, 10)
  assert.equal(c.hear(heard('g-1', 'a-1', 0, 100), 's1'), 'added')
  assert.equal(c.hear(heard('g-2', 'a-2', 0, 200), 's2'), 'added')
  assert.deepEqual(c.all().map(e => e.name).sort(), ['g-2', 'trusted'])
  assert.equal(c.fromSource('s1'), 0)
})

test('host cache: hearsay entries that fail are dropped; trusted ones only demoted; reaching one makes it trusted', () => {
  const c = new HostCache(10, [], { sourceMax: 100, gossipFailMax: 2 })
  c.learn('boot', 'b', null, 10, 'bootstrap')
  c.hear(heard('poison', 'p'), 'attacker')
  c.hear(heard('real', 'r'), 'honest')
  assert.equal(c.fail('poison'), false)
  assert.equal(c.fail('poison'), true)
  assert.equal(c.get('poison'), undefined)
  assert.equal(c.fromSource('attacker'), 0)
  for (let i = 0; i < 5; i++) c.fail('boot')
  assert.equal(c.get('boot')?.failures, 5)
  c.ok('real', 500)
  assert.equal(c.get('real')?.trust, undefined)
  assert.equal(c.get('real')?.via, undefined)
  assert.equal(c.fromSource('honest'), 0)
  c.fail('real'); c.fail('real'); c.fail('real')
  assert.ok(c.get('real') !== undefined, 'an entry this peer reached is not dropped for failing')
  // A failing hearsay entry may be replaced by another address; a working one not.
  c.hear(heard('g', 'g-addr'), 'x')
  assert.equal(c.hear(heard('g', 'g-other', 0, 200), 'y'), 'conflict')
  c.fail('g')
  assert.equal(c.hear(heard('g', 'g-other', 0, 200), 'y'), 'added')
  assert.equal(c.get('g')?.addr, 'g-other')
})

test('host cache: trust, source and record survive serialize/parse, and the source counts are rebuilt', () => {
  const c = new HostCache(10, [], { sourceMax: 2, gossipFailMax: 2 })
  c.learn('boot', 'b', null, 10, 'bootstrap')
  c.hear(heard('g-1', 'a-1'), 'attacker')
  c.hear(heard('g-2', 'a-2'), 'attacker')
  const back = HostCache.parse(c.serialize(), 10, { sourceMax: 2, gossipFailMax: 2 })
  assert.deepEqual(back.all(), c.all())
  assert.equal(back.fromSource('attacker'), 2)
  assert.equal(back.hear(heard('g-3', 'a-3'), 'attacker'), 'source-cap')
  assert.equal(back.relayable(100).length, 2)
  assert.equal(back.relayable(100 + TTL).length, 0)
})

test('per-key buckets: each key its own budget, bounded number of keys', () => {
  const m = new BucketMap(1, 2, 3)
  assert.equal(m.take('a', 0), true)
  assert.equal(m.take('a', 0), true)
  assert.equal(m.take('a', 0), false)
  assert.equal(m.waitMs('a', 0), 1000)
  assert.equal(m.take('b', 0), true, 'another key is not charged for a')
  assert.equal(m.take('a', 1000), true)
  for (const k of ['c', 'd', 'e']) m.take(k, 1000)
  assert.equal(m.size, 3)
  assert.equal(m.tokens('unknown', 0), 2)
})

test('per-account wrong-password throttle: a burst, then a rate', () => {
  // loginFailBurst 5, loginFailRatePerS 0.1: five wrong passwords, then one per 10 s.
  const fails = new BucketMap(0.1, 5, 10_000)
  let allowed = 0
  for (let i = 0; i < 200; i++) {
    if (fails.tokens('victim', 0) >= 1) { allowed++; fails.take('victim', 0) }
  }
  assert.equal(allowed, 5)
  assert.equal(fails.waitMs('victim', 0), 10_000)
  assert.ok(fails.tokens('victim', 10_000) >= 1)
  assert.ok(fails.tokens('other', 0) >= 1)
})

test('retry hints: clamped to the maximum, non-finite or negative ignored', () => {
  assert.deepEqual(clampRetryHint(5000, 60_000), { ms: 5000, clamped: false })
  assert.deepEqual(clampRetryHint(1e9, 60_000), { ms: 60_000, clamped: true })
  assert.deepEqual(clampRetryHint(2 ** 31, 60_000), { ms: 60_000, clamped: true })
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) assert.deepEqual(clampRetryHint(bad, 60_000), { ms: 0, clamped: true }, String(bad))
  assert.deepEqual(clampRetryHint(0, 0), { ms: 0, clamped: false })
})

test('log limiter: max lines per interval per event, then one summary with a count and a sample', () => {
  const l = new LogLimiter({ max: 2, intervalMs: 1000 })
  const admitted = Array.from({ length: 10 }, (_, i) => l.admit('msg.invalid', { i }, 100 + i).write)
  assert.deepEqual(admitted, [true, true, false, false, false, false, false, false, false, false])
  assert.equal(l.admit('sn.rejected', {}, 100).write, true, 'events are limited separately')
  assert.deepEqual(l.due(500), [])
  const next = l.admit('msg.invalid', { i: 99 }, 1100)
  assert.equal(next.write, true)
  assert.deepEqual(next.summary, { event: 'msg.invalid', count: 8, intervalMs: 1000, sample: { i: 2 } })
  // An interval with nothing left out gives no summary.
  assert.deepEqual(l.due(5000), [])
  assert.equal(new LogLimiter({ max: 0, intervalMs: 1 }).admit('x', {}, 0).write, true)
})
