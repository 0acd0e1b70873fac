/** Trying supernodes in turn after failed logins (node/attach-rotation.ts): pure. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { avoidAfterFailure, rotateCandidates } from '../../node/attach-rotation.ts'

const c = (...names: string[]): Array<{ name: string }> => names.map(name => ({ name }))

test('a failed login at a supernode puts it last in the next rounds; the longest-avoided comes back first', () => {
  let avoid: string[] = []
  avoid = avoidAfterFailure(avoid, 'a', 8)
  assert.deepEqual(rotateCandidates(c('a', 'b', 'c'), avoid).map(x => x.name), ['b', 'c', 'a'])
  avoid = avoidAfterFailure(avoid, 'b', 8)
  assert.deepEqual(rotateCandidates(c('a', 'b', 'c'), avoid).map(x => x.name), ['c', 'a', 'b'])
  avoid = avoidAfterFailure(avoid, 'c', 8)
  // Everything was avoided: the round still has all three, oldest failure first.
  assert.deepEqual(rotateCandidates(c('c', 'b', 'a'), avoid).map(x => x.name), ['a', 'b', 'c'])
  // Failing again at `a` makes it the most recent.
  avoid = avoidAfterFailure(avoid, 'a', 8)
  assert.deepEqual(avoid, ['b', 'c', 'a'])
})

test('the avoid list is bounded by max, and off at 0', () => {
  let avoid: string[] = []
  for (const sn of ['a', 'b', 'c', 'd']) avoid = avoidAfterFailure(avoid, sn, 2)
  assert.deepEqual(avoid, ['c', 'd'])
  assert.deepEqual(avoidAfterFailure(['a'], 'b', 0), [])
  assert.deepEqual(rotateCandidates(c('a', 'b'), []).map(x => x.name), ['a', 'b'])
})

test('candidates not avoided keep the host cache\'s order', () => {
  assert.deepEqual(rotateCandidates(c('x', 'a', 'y', 'b', 'z'), ['a', 'b']).map(x => x.name), ['x', 'y', 'z', 'a', 'b'])
})
