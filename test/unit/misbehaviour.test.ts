import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Bans } from '../../node/misbehaviour.ts'

const limits = { max: 3, windowMs: 10_000, banMs: 60_000, overBudgetMax: 5, trackedMax: 100 }

test('a peer is banned at its offence past the budget, with its IP, until the ban ends', () => {
  const b = new Bans(limits)
  assert.deepEqual([1, 2, 3].map(() => b.offend('p1', '10.0.0.1', 0)), [false, false, false])
  assert.equal(b.banned('peer:p1', 0), false)
  assert.equal(b.offend('p1', '10.0.0.1', 0), true)
  assert.equal(b.banned('peer:p1', 1), true)
  assert.equal(b.banned('ip:10.0.0.1', 1), true)
  // Offences during the ban do not start another.
  assert.equal(b.offend('p1', '10.0.0.1', 2), false)
  assert.equal(b.banned('peer:p1', 59_999), true)
  assert.equal(b.banned('peer:p1', 60_000), false)
  assert.equal(b.banned('ip:10.0.0.1', 60_000), false)
  // Another peer's offences are its own.
  assert.equal(b.banned('peer:p2', 1), false)
})

test('offences spread over time refill the budget: a rare bad frame never bans', () => {
  const b = new Bans(limits)
  // 3 per 10 s: one every 4 s is below the rate, for ever.
  for (let t = 0; t < 600_000; t += 4000) assert.equal(b.offend('p1', '10.0.0.1', t), false, `at ${t} ms`)
  assert.equal(b.banned('peer:p1', 600_000), false)
})

test('max 0 never bans', () => {
  const b = new Bans({ ...limits, max: 0 })
  for (let i = 0; i < 1000; i++) assert.equal(b.offend('p1', '10.0.0.1', 0), false)
  assert.equal(b.size, 0)
})

test('the ban table is bounded: past trackedMax the oldest ban is forgotten', () => {
  const b = new Bans({ ...limits, max: 1, trackedMax: 10 })
  for (let i = 0; i < 50; i++) {
    b.offend(`p${i}`, '', 0)
    assert.equal(b.offend(`p${i}`, '', 0), true)
  }
  assert.ok(b.size <= 10, `${b.size} bans kept`)
  assert.equal(b.banned('peer:p49', 1), true)
  assert.equal(b.banned('peer:p0', 1), false)
})

test('a peer without an IP (a relay) is banned by its id only', () => {
  const b = new Bans({ ...limits, max: 1 })
  b.offend('p1', '', 0)
  assert.equal(b.offend('p1', '', 0), true)
  assert.equal(b.banned('ip:', 1), false)
  assert.equal(b.size, 1)
})

test('refusals by a peer\'s own budget: the allowance is no offence, each one past it is, and the offences then ban', () => {
  const b = new Bans(limits)
  // 5 refusals allowed, then 3 offences allowed, then the ban.
  for (let i = 0; i < 5 + 3; i++) assert.equal(b.refusedOverBudget('p1', '10.0.0.1', 0), false, `refusal ${i + 1}`)
  assert.equal(b.banned('peer:p1', 0), false)
  assert.equal(b.refusedOverBudget('p1', '10.0.0.1', 0), true, 'the 9th refusal at once starts a ban')
  assert.equal(b.banned('ip:10.0.0.1', 1), true)
  // Refusals and offences share a peer's offence budget: 2 refusals past the allowance leave 1 offence.
  const c = new Bans(limits)
  for (let i = 0; i < 7; i++) c.refusedOverBudget('p2', '', 0)
  assert.equal(c.offend('p2', '', 0), false)
  assert.equal(c.offend('p2', '', 0), true)
})

test('refusals spread over time stay within the allowance; overBudgetMax 0 never counts them', () => {
  const b = new Bans(limits)
  // 5 per 10 s: one every 2.5 s is the rate, for ever.
  for (let t = 0; t < 600_000; t += 2500) assert.equal(b.refusedOverBudget('p1', '10.0.0.1', t), false, `at ${t} ms`)
  assert.equal(b.offend('p1', '10.0.0.1', 600_000), false, 'the offence budget is untouched')
  const off = new Bans({ ...limits, overBudgetMax: 0 })
  for (let i = 0; i < 1000; i++) assert.equal(off.refusedOverBudget('p1', '10.0.0.1', 0), false)
  assert.equal(off.size, 0)
})
