import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../../node/contract/rng.ts'
import { parseTargetSpec, formatTargetSpec, resolveTargets, withFraction, type TargetPeer } from '../../orchestrator/storm/targets.ts'

/** 20 peers; p-001..p-004 are supernodes. */
const peers: TargetPeer[] = Array.from({ length: 20 }, (_, i) => ({
  name: `p-${String(i + 1).padStart(3, '0')}`,
  role: i < 4 ? 'supernode' : 'client'
}))
const sn = new Set(['p-001', 'p-002', 'p-003', 'p-004'])
const resolve = (spec: string, seed = 's'): string[] => resolveTargets(spec, peers, createRng(seed))

test('all, peers and supernodes select by current role', () => {
  assert.equal(resolve('all').length, 20)
  assert.deepEqual(resolve('supernodes'), [...sn])
  const clients = resolve('peers')
  assert.equal(clients.length, 16)
  assert.ok(clients.every(n => !sn.has(n)))
})

test('fraction takes round(x * matching) peers, sorted, from the selection', () => {
  assert.equal(resolve('fraction:0.3').length, 6)
  assert.equal(resolve('fraction:0').length, 0)
  assert.equal(resolve('fraction:1').length, 20)
  const half = resolve('supernodes,fraction:0.5')
  assert.equal(half.length, 2)
  assert.ok(half.every(n => sn.has(n)))
  const r = resolve('fraction:0.5')
  assert.deepEqual(r, [...r].sort())
})

test('counts: n, count:n and one; a count is an upper bound', () => {
  assert.equal(resolve('7').length, 7)
  assert.equal(resolve('count:7').length, 7)
  assert.equal(resolve('one').length, 1)
  assert.equal(resolve('supernodes,10').length, 4)
  assert.equal(resolve('peers,count:3').filter(n => sn.has(n)).length, 0)
})

test('a list of peer ids picks exactly those', () => {
  assert.deepEqual(resolve('p-007,p-001'), ['p-001', 'p-007'])
})

test('the same seed picks the same peers; other seeds pick others; input order does not matter', () => {
  assert.deepEqual(resolve('fraction:0.4', 'a'), resolve('fraction:0.4', 'a'))
  const picks = new Set(['a', 'b', 'c', 'd', 'e'].map(s => resolve('fraction:0.4', s).join()))
  assert.ok(picks.size > 1)
  assert.deepEqual(resolveTargets('fraction:0.4', [...peers].reverse(), createRng('a')), resolve('fraction:0.4', 'a'))
})

test('for one seed a smaller fraction picks a subset of a larger one', () => {
  const small = resolve('fraction:0.2', 'nest')
  const large = new Set(resolve('fraction:0.6', 'nest'))
  assert.ok(small.every(n => large.has(n)))
})

test('specs round-trip through their canonical text', () => {
  for (const text of ['all', 'peers', 'supernodes', 'fraction:0.3', 'supernodes,fraction:0.5', 'count:4', 'p-001,p-007']) {
    assert.deepEqual(parseTargetSpec(formatTargetSpec(parseTargetSpec(text))), parseTargetSpec(text), text)
  }
  assert.equal(formatTargetSpec(parseTargetSpec(' fraction:0.5 , supernodes ')), 'supernodes,fraction:0.5')
  assert.equal(formatTargetSpec(parseTargetSpec('4')), 'count:4')
})

test('withFraction replaces the quantity and keeps the selector', () => {
  assert.equal(formatTargetSpec(withFraction(parseTargetSpec('supernodes,3'), 0.25)), 'supernodes,fraction:0.25')
  assert.throws(() => withFraction(parseTargetSpec('p-001'), 0.5), { name: 'TargetSpecError' })
})

test('bad specs throw TargetSpecError naming the bad part', () => {
  const cases: Array<[string, string]> = [
    ['supernode', 'supernode'],
    ['fraction:1.5', 'fraction:1.5'],
    ['fraction:', 'fraction:'],
    ['fraction:abc', 'fraction:abc'],
    ['count:0', 'count:0'],
    ['0', '0'],
    ['all,peers', 'peers'],
    ['fraction:0.1,3', '3'],
    ['p-001,supernodes', 'supernodes'],
    ['p-001,p-001', 'p-001'],
    ['all,,peers', 'all,,peers'],
    ['', '']
  ]
  for (const [spec, part] of cases) {
    assert.throws(() => parseTargetSpec(spec), (err: Error & { part?: string }) => err.name === 'TargetSpecError' && err.part === part, spec)
  }
})

test('a peer id that is not in the network is refused at resolution', () => {
  assert.throws(() => resolve('p-001,p-099'), (err: Error & { part?: string }) => err.name === 'TargetSpecError' && err.part === 'p-099')
})
