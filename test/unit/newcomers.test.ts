import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Newcomers } from '../../node/newcomers.ts'

const limits = { ratePerS: 2, burst: 3, vouchMs: 60_000, vouchedMax: 4 }

test('newcomers share one bucket: a burst, then the rate, whatever their addresses', () => {
  const n = new Newcomers(limits, 0)
  const admitted = Array.from({ length: 10 }, (_, i) => n.admit(`10.0.0.${i}`, 0))
  assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false])
  // Two a second after that: one more at 500 ms, none again at once.
  assert.equal(n.admit('10.0.1.1', 500), true)
  assert.equal(n.admit('10.0.1.2', 500), false)
  assert.equal(n.admit('10.0.1.3', 1000), true)
})

test('a vouched source is admitted when newcomers are refused, and spends no token', () => {
  const n = new Newcomers(limits, 0)
  n.vouch('10.0.0.9', 0)
  for (let i = 0; i < 3; i++) assert.equal(n.admit(`10.0.0.${i}`, 0), true)
  assert.equal(n.admit('10.0.0.7', 0), false, 'the burst is spent')
  for (let i = 0; i < 50; i++) assert.equal(n.admit('10.0.0.9', 0), true, 'vouched, every time')
  // The vouched source took nothing: the next newcomer token comes at 500 ms as before.
  assert.equal(n.admit('10.0.0.8', 499), false)
  assert.equal(n.admit('10.0.0.8', 500), true)
})

test('a vouch lasts vouchMs from the last proof, then the source is a newcomer again', () => {
  const n = new Newcomers({ ...limits, burst: 1, ratePerS: 0.001 }, 0)
  n.vouch('10.0.0.1', 0)
  assert.equal(n.isVouched('10.0.0.1', 59_999), true)
  n.vouch('10.0.0.1', 50_000)
  assert.equal(n.isVouched('10.0.0.1', 100_000), true, 'renewed at 50 s')
  assert.equal(n.isVouched('10.0.0.1', 110_000), false)
  assert.equal(n.size, 0, 'an expired vouch is forgotten')
  assert.equal(n.admit('10.0.0.1', 110_000), true, 'the one newcomer token')
  assert.equal(n.admit('10.0.0.1', 110_000), false)
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

test('rate 0 admits everyone; an empty source is never vouched', () => {
  const off = new Newcomers({ ...limits, ratePerS: 0 }, 0)
  for (let i = 0; i < 100; i++) assert.equal(off.admit(`10.0.0.${i}`, 0), true)
  const n = new Newcomers(limits, 0)
  n.vouch('', 0)
  assert.equal(n.size, 0)
  assert.throws(() => new Newcomers({ ...limits, vouchedMax: 0 }, 0), RangeError)
})
