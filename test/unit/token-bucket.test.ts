import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createBucket, take, waitMs } from '../../node/token-bucket.ts'

test('a new bucket is full: burst takes succeed at once, the next fails', () => {
  const b = createBucket(10, 3, 1000)
  assert.deepEqual([take(b, 1000), take(b, 1000), take(b, 1000), take(b, 1000)], [true, true, true, false])
})

test('tokens come back at ratePerS', () => {
  const b = createBucket(10, 1, 0) // one token per 100 ms
  assert.equal(take(b, 0), true)
  assert.equal(take(b, 50), false)
  assert.equal(take(b, 99), false)
  assert.equal(take(b, 100), true)
  assert.equal(take(b, 100), false)
})

test('the bucket never holds more than burst', () => {
  const b = createBucket(1000, 2, 0)
  assert.equal(take(b, 0), true)
  assert.equal(take(b, 0), true)
  // An hour later: still only 2.
  const later = 3_600_000
  assert.deepEqual([take(b, later), take(b, later), take(b, later)], [true, true, false])
})

test('waitMs says how long until one token, and takes nothing', () => {
  const b = createBucket(4, 1, 0) // one token per 250 ms
  assert.equal(waitMs(b, 0), 0)
  assert.equal(waitMs(b, 0), 0)
  assert.equal(take(b, 0), true)
  assert.equal(waitMs(b, 0), 250)
  assert.equal(waitMs(b, 100), 150)
  assert.equal(waitMs(b, 249.5), 1)
  assert.equal(waitMs(b, 250), 0)
  assert.equal(take(b, 250), true)
})

test('slow and fractional rates work', () => {
  const b = createBucket(0.5, 1, 0) // one token per 2 s
  assert.equal(take(b, 0), true)
  assert.equal(waitMs(b, 0), 2000)
  assert.equal(take(b, 1999), false)
  assert.equal(take(b, 2000), true)
})

test('a clock that steps back adds no tokens', () => {
  const b = createBucket(10, 1, 1000)
  assert.equal(take(b, 1000), true)
  assert.equal(take(b, 500), false)
  assert.equal(waitMs(b, 400) > 0, true)
})

test('a clock that steps back and then forward mints no tokens', () => {
  const b = createBucket(1, 1, 10_000) // one token per second
  assert.equal(take(b, 10_000), true)
  assert.equal(take(b, 9_000), false) // the wall clock steps back 1 s
  // Real time since the take: 0 ms. There must be no token yet.
  assert.equal(take(b, 10_000), false)
})
