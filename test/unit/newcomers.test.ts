import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Newcomers, type Admission } from '../../node/newcomers.ts'

const limits = { ratePerS: 2, burst: 3, inFlightMax: 0, queueMax: 0, holdMs: 1000, vouchMs: 60_000, vouchedMax: 4 }

/** Admitted at all (as a newcomer or vouched for). */
const ok = (a: Admission): boolean => a !== 'refused'

test('newcomers share one bucket: a burst, then the rate, whatever their addresses', () => {
  const n = new Newcomers(limits, 0)
  const admitted = Array.from({ length: 10 }, (_, i) => n.admit(`10.0.0.${i}`, 0, `10.0.0.${i}`))
  assert.deepEqual(admitted.map(ok), [true, true, true, false, false, false, false, false, false, false])
  // Two a second after that: one more at 500 ms, none again at once.
  assert.equal(n.admit('10.0.1.1', 500, '10.0.1.1'), 'newcomer')
  assert.equal(n.admit('10.0.1.2', 500, '10.0.1.2'), 'refused')
  assert.equal(n.admit('10.0.1.3', 1000, '10.0.1.3'), 'newcomer')
})

test('a vouched source is admitted when newcomers are refused, and spends no token', () => {
  const n = new Newcomers(limits, 0)
  n.vouch('10.0.0.9', 0)
  for (let i = 0; i < 3; i++) assert.equal(n.admit(`10.0.0.${i}`, 0, `10.0.0.${i}`), 'newcomer')
  assert.equal(n.admit('10.0.0.7', 0, '10.0.0.7'), 'refused', 'the burst is spent')
  for (let i = 0; i < 50; i++) assert.equal(n.admit('10.0.0.9', 0, '10.0.0.9'), 'vouched', 'vouched, every time')
  // The vouched source took nothing: the next newcomer token comes at 500 ms as before.
  assert.equal(n.admit('10.0.0.8', 499, '10.0.0.8'), 'refused')
  assert.equal(n.admit('10.0.0.8', 500, '10.0.0.8'), 'newcomer')
})

test('a vouch lasts vouchMs from the last proof, then the source is a newcomer again', () => {
  const n = new Newcomers({ ...limits, burst: 1, ratePerS: 0.001 }, 0)
  n.vouch('10.0.0.1', 0)
  assert.equal(n.isVouched('10.0.0.1', 59_999), true)
  n.vouch('10.0.0.1', 50_000)
  assert.equal(n.isVouched('10.0.0.1', 100_000), true, 'renewed at 50 s')
  assert.equal(n.isVouched('10.0.0.1', 110_000), false)
  assert.equal(n.size, 0, 'an expired vouch is forgotten')
  assert.equal(n.admit('10.0.0.1', 110_000, '10.0.0.1'), 'newcomer', 'the one newcomer token')
  assert.equal(n.admit('10.0.0.1', 110_000, '10.0.0.1'), 'refused')
})

test('vouched sources are bounded: the least recently vouched go first', () => {
  const n = new Newcomers(limits, 0)
  for (let i = 0; i < 6; i++) n.vouch(`10.0.0.${i}`, i)
  assert.equal(n.size, 4)
  assert.equal(n.isVouched('10.0.0.0', 10), false)
  assert.equal(n.isVouched('10.0.0.1', 10), false)
  assert.equal(n.isVouched('10.0.0.5', 10), true)
  // Vouching again moves a source to the back.
  n.vouch('10.0.0.2', 20)
  n.vouch('10.0.0.6', 21)
  assert.equal(n.isVouched('10.0.0.2', 22), true)
  assert.equal(n.isVouched('10.0.0.3', 22), false)
})

test('rate 0 and no in-flight cap admit everyone; an empty source is never vouched', () => {
  const off = new Newcomers({ ...limits, ratePerS: 0 }, 0)
  for (let i = 0; i < 100; i++) assert.equal(off.admit(`10.0.0.${i}`, 0, `10.0.0.${i}`), 'newcomer')
  const n = new Newcomers(limits, 0)
  n.vouch('', 0)
  assert.equal(n.size, 0)
  assert.throws(() => new Newcomers({ ...limits, vouchedMax: 0 }, 0), RangeError)
})

test('at most inFlightMax newcomers\' handshakes at once: a burst is served a few at a time', () => {
  const n = new Newcomers({ ...limits, ratePerS: 0, inFlightMax: 2 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(n.admit('10.0.0.2', 0, 'b'), 'newcomer')
  assert.equal(n.admit('10.0.0.3', 0, 'c'), 'refused', 'two in flight')
  assert.equal(n.inFlight, 2)
  n.vouch('10.0.0.9', 0)
  assert.equal(n.admit('10.0.0.9', 0, 'v'), 'vouched', 'a vouched source is never held back')
  assert.equal(n.inFlight, 2, 'and takes no place')
  n.settle('a', 1)
  assert.equal(n.admit('10.0.0.3', 1, 'c'), 'newcomer', 'a place again once one ended')
  assert.equal(n.admit('10.0.0.4', 1, 'd'), 'refused')
  n.settle('b', 1); n.settle('c', 1); n.settle('c', 1)
  assert.equal(n.inFlight, 0, 'a place is freed once')
})

test('a source holds one place at most, and a place is held for holdMs at most', () => {
  const n = new Newcomers({ ...limits, ratePerS: 0, inFlightMax: 3, holdMs: 1000 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(n.admit('10.0.0.1', 0, 'b'), 'refused', 'one host\'s second handshake waits for its first')
  assert.equal(n.admit('10.0.0.2', 0, 'c'), 'newcomer', 'another host takes a place')
  assert.equal(n.admit('10.0.0.3', 10, 'd'), 'newcomer')
  assert.equal(n.admit('10.0.0.4', 999, 'e'), 'refused', 'three held')
  // Silent sockets never end their handshakes: their places come back after holdMs.
  assert.equal(n.admit('10.0.0.4', 1000, 'e'), 'newcomer', 'a\'s and c\'s places were released at 1000 ms')
  assert.equal(n.admit('10.0.0.1', 1000, 'f'), 'newcomer', 'and so was the host\'s one place')
  assert.equal(n.admit('10.0.0.5', 1000, 'g'), 'refused', 'd, e and f hold the three')
  assert.equal(n.inFlight, 3)
})

test('a newcomer refused for want of a place spends no token', () => {
  const n = new Newcomers({ ...limits, ratePerS: 1, burst: 2, inFlightMax: 1 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  for (let i = 0; i < 10; i++) assert.equal(n.admit(`10.0.1.${i}`, 0, `x${i}`), 'refused', 'one in flight')
  n.settle('a', 1)
  assert.equal(n.admit('10.0.0.2', 0, 'b'), 'newcomer', 'the second token of the burst is still there')
  n.settle('b', 0)
  assert.equal(n.admit('10.0.0.3', 0, 'c'), 'refused', 'and then the bucket is empty')
  assert.equal(n.inFlight, 0, 'a newcomer refused by the bucket takes no place')
})

test('a newcomer that finds every place taken waits its turn, first come first, and is admitted when a place comes free', () => {
  const n = new Newcomers({ ...limits, ratePerS: 0, inFlightMax: 2, queueMax: 2, holdMs: 1000 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(n.admit('10.0.0.2', 0, 'b'), 'newcomer')
  assert.equal(n.admit('10.0.0.3', 1, 'c'), 'queued')
  assert.equal(n.admit('10.0.0.4', 2, 'd'), 'queued')
  assert.equal(n.admit('10.0.0.5', 3, 'e'), 'refused', 'the queue is full')
  assert.equal(n.admit('10.0.0.3', 3, 'c2'), 'refused', 'a source with a turn waits with one socket')
  assert.deepEqual(n.moves(), { granted: [], refused: [] })
  assert.equal(n.nextDeadline(3), 1000, 'a and b release their places at 1000 ms')
  n.settle('b', 10)
  assert.deepEqual(n.moves(), { granted: ['c'], refused: [] }, 'the first in the queue takes the place')
  assert.equal(n.inFlight, 2)
  assert.equal(n.queued, 1)
  n.settle('d', 11)
  assert.deepEqual(n.moves(), { granted: [], refused: [] }, 'd closed its socket while it waited: no answer owed')
  assert.equal(n.queued, 0)
  assert.equal(n.admit('10.0.0.6', 12, 'f'), 'queued')
  // a's place is released at 1000 ms (its handshake never ended): f's turn.
  n.tick(1000)
  assert.deepEqual(n.moves(), { granted: ['f'], refused: [] })
  assert.equal(n.nextDeadline(1000), null, 'nobody waits')
})

test('a newcomer waits holdMs at most; a vouched source never waits', () => {
  const n = new Newcomers({ ...limits, ratePerS: 0, inFlightMax: 1, queueMax: 8, holdMs: 1000 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(n.admit('10.0.0.2', 500, 'b'), 'queued')
  assert.equal(n.admit('10.0.0.3', 600, 'c'), 'queued')
  n.vouch('10.0.0.9', 600)
  assert.equal(n.admit('10.0.0.9', 600, 'v'), 'vouched')
  // a holds its place until 1000: b gets it then; c's wait ends at 1600, before b's place is released (2000).
  assert.equal(n.nextDeadline(600), 1000)
  n.tick(1000)
  assert.deepEqual(n.moves(), { granted: ['b'], refused: [] })
  assert.equal(n.nextDeadline(1000), 1600)
  n.tick(1600)
  assert.deepEqual(n.moves(), { granted: [], refused: ['c'] })
  assert.equal(n.queued, 0)
})

test('newcomers beyond the tokens wait for one: the queue is served at the rate, places permitting', () => {
  const n = new Newcomers({ ...limits, ratePerS: 10, burst: 2, inFlightMax: 4, queueMax: 8, holdMs: 1000 }, 0)
  assert.equal(n.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(n.admit('10.0.0.2', 0, 'b'), 'newcomer')
  assert.equal(n.admit('10.0.0.3', 0, 'c'), 'queued', 'a place is free, but the burst of 2 is spent')
  assert.equal(n.admit('10.0.0.4', 0, 'd'), 'queued')
  assert.equal(n.nextDeadline(0), 100, 'the next token in 100 ms')
  n.tick(100)
  assert.deepEqual(n.moves(), { granted: ['c'], refused: [] })
  n.tick(150)
  assert.deepEqual(n.moves(), { granted: [], refused: [] }, 'no token yet')
  n.tick(200)
  assert.deepEqual(n.moves(), { granted: ['d'], refused: [] })
  // Without places (inFlightMax 0) there is no queue: no token, refused.
  const plain = new Newcomers({ ...limits, ratePerS: 10, burst: 1, inFlightMax: 0, queueMax: 8 }, 0)
  assert.equal(plain.admit('10.0.0.1', 0, 'a'), 'newcomer')
  assert.equal(plain.admit('10.0.0.2', 0, 'b'), 'refused')
})
