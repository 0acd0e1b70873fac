import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng, newSeed } from '../../node/contract/rng.ts'

const draw = (seed: string, n: number): number[] => {
  const r = createRng(seed)
  return Array.from({ length: n }, () => r.next())
}

test('the same seed gives the same sequence', () => {
  assert.deepEqual(draw('run-42', 100), draw('run-42', 100))
})

test('different seeds give different sequences', () => {
  const a = draw('run-42', 20)
  for (const other of ['run-43', 'run-42 ', '', 'RUN-42']) assert.notDeepEqual(draw(other, 20), a, other)
})

test('next is uniform-ish in [0, 1)', () => {
  const xs = draw('uniform', 10_000)
  for (const x of xs) assert.ok(x >= 0 && x < 1, String(x))
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`)
  // Not stuck: many distinct values.
  assert.ok(new Set(xs).size > 9990)
})

test('int(lo, hi) stays within [lo, hi], is whole, and reaches both ends', () => {
  const r = createRng('ints')
  const seen = new Set<number>()
  for (let i = 0; i < 2000; i++) {
    const x = r.int(3, 7)
    assert.ok(Number.isInteger(x) && x >= 3 && x <= 7, String(x))
    seen.add(x)
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7])
  assert.equal(r.int(5, 5), 5)
  for (let i = 0; i < 200; i++) {
    const x = r.int(-2, 1)
    assert.ok(x >= -2 && x <= 1, String(x))
  }
})

test('range(lo, hi) stays within [lo, hi)', () => {
  const r = createRng('floats')
  let min = Infinity; let max = -Infinity
  for (let i = 0; i < 2000; i++) {
    const x = r.range(-2, 5)
    assert.ok(x >= -2 && x < 5, String(x))
    min = Math.min(min, x); max = Math.max(max, x)
  }
  assert.ok(min < -1.9 && max > 4.9, `${min}..${max}`)
})

test('shuffle returns a permutation of a copy, deterministic per seed', () => {
  const items = Array.from({ length: 30 }, (_, i) => i)
  const frozen = Object.freeze(items.slice())
  const a = createRng('shuffle').shuffle(frozen)
  assert.deepEqual([...a].sort((x, y) => x - y), items)
  assert.notDeepEqual(a, items)
  assert.deepEqual(frozen, items) // input untouched
  assert.deepEqual(createRng('shuffle').shuffle(items), a)
  assert.notDeepEqual(createRng('shuffle-2').shuffle(items), a)
  assert.deepEqual(createRng('x').shuffle([]), [])
  assert.deepEqual(createRng('x').shuffle(['only']), ['only'])
})

test('shuffle puts every item in every place over many draws', () => {
  const r = createRng('fair')
  const firsts = new Map<string, number>()
  for (let i = 0; i < 4000; i++) {
    const first = r.shuffle(['a', 'b', 'c', 'd'])[0] as string
    firsts.set(first, (firsts.get(first) ?? 0) + 1)
  }
  for (const k of ['a', 'b', 'c', 'd']) {
    const n = firsts.get(k) ?? 0
    assert.ok(n > 850 && n < 1150, `${k} first ${n} times of 4000`)
  }
})

test('fork is deterministic per (seed, label) and does not depend on draws before it', () => {
  const p1 = createRng('s')
  const p2 = createRng('s')
  for (let i = 0; i < 17; i++) p2.next()
  const f1 = p1.fork('client')
  const f2 = p2.fork('client')
  assert.deepEqual(Array.from({ length: 10 }, () => f1.next()), Array.from({ length: 10 }, () => f2.next()))
})

test('a fork is independent of its parent and of other labels', () => {
  const parentAlone = draw('s', 10)
  const parent = createRng('s')
  const child = parent.fork('sn')
  const childDraws = Array.from({ length: 10 }, () => child.next())
  // Drawing from the child does not move the parent.
  assert.deepEqual(Array.from({ length: 10 }, () => parent.next()), parentAlone)
  assert.notDeepEqual(childDraws, parentAlone)
  const other = createRng('s').fork('client')
  assert.notDeepEqual(Array.from({ length: 10 }, () => other.next()), childDraws)
})

test('newSeed is 16 hex characters taken from the entropy given', () => {
  const bytes = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  assert.equal(newSeed(() => bytes), 'deadbeef01020304')
  assert.match(newSeed(() => new Uint8Array(16).fill(255)), /^[0-9a-f]{16}$/)
})
