import { test } from 'node:test'
import assert from 'node:assert/strict'
import { INITIAL_RETRY_STATE, RETRY_POLICIES, nextRetry, type RetryPolicy, type RetryPolicyName, type RetryState } from '../../node/contract/retry-policies.ts'

const policy = (name: RetryPolicyName, over: Partial<RetryPolicy> = {}): RetryPolicy => ({ policy: name, baseMs: 100, capMs: 1000, attemptsMax: 0, ...over })
const after = (failures: number, prevDelayMs = 0): RetryState => ({ failures, prevDelayMs })
const fixedRandom = (r: number) => (): number => r
/** For policies that must not draw: fails the test if they do. */
const noRandom = (): number => { throw new Error('this policy must not draw a random number') }

const delay = (p: RetryPolicy, s: RetryState, r: number): number => nextRetry(p, s, fixedRandom(r)).delayMs

test('immediate waits 0 whatever the failures and the random draw', () => {
  for (const n of [0, 1, 5, 100]) assert.equal(nextRetry(policy('immediate'), after(n), noRandom).delayMs, 0)
})

test('fixed waits base, or the cap when that is smaller', () => {
  for (const n of [0, 3, 50]) assert.equal(nextRetry(policy('fixed'), after(n), noRandom).delayMs, 100)
  assert.equal(nextRetry(policy('fixed', { baseMs: 500, capMs: 200 }), after(0), noRandom).delayMs, 200)
})

test('exponential doubles from base and stops at the cap', () => {
  const p = policy('exponential')
  const got = [0, 1, 2, 3, 4, 5].map(n => nextRetry(p, after(n), noRandom).delayMs)
  assert.deepEqual(got, [100, 200, 400, 800, 1000, 1000])
})

test('full jitter draws uniformly below min(cap, base * 2^n)', () => {
  const p = policy('full-jitter')
  // n = 3: t = 800
  assert.equal(delay(p, after(3), 0), 0)
  assert.equal(delay(p, after(3), 0.5), 400)
  assert.equal(delay(p, after(3), 0.999), 799)
  // n = 0: t = base
  assert.equal(delay(p, after(0), 0.5), 50)
  // capped: t = 1000
  assert.equal(delay(p, after(10), 0.5), 500)
  assert.equal(delay(p, after(10), 0.999), 999)
})

test('equal jitter keeps half of min(cap, base * 2^n) and draws the other half', () => {
  const p = policy('equal-jitter')
  // n = 3: t = 800
  assert.equal(delay(p, after(3), 0), 400)
  assert.equal(delay(p, after(3), 0.5), 600)
  assert.equal(delay(p, after(3), 0.999), 800) // 799.6 rounded
  // capped: t = 1000
  assert.equal(delay(p, after(10), 0), 500)
  assert.equal(delay(p, after(10), 0.5), 750)
})

test('decorrelated jitter starts from base, then draws between base and 3 * the previous delay', () => {
  const p = policy('decorrelated')
  // First failure: prev = base = 100, so between 100 and 300.
  assert.equal(delay(p, INITIAL_RETRY_STATE, 0), 100)
  assert.equal(delay(p, INITIAL_RETRY_STATE, 0.5), 200)
  assert.equal(delay(p, INITIAL_RETRY_STATE, 0.999), 300) // 299.8 rounded
  // prev = 200: between 100 and 600.
  assert.equal(delay(p, after(1, 200), 0), 100)
  assert.equal(delay(p, after(1, 200), 0.5), 350)
  // The failure count does not matter, only the previous delay.
  assert.equal(delay(p, after(7, 200), 0.5), 350)
  // Capped.
  assert.equal(delay(p, after(2, 900), 0.5), 1000)
})

test('decorrelated jitter carries its unrounded delay to the next call', () => {
  const p = policy('decorrelated')
  const first = nextRetry(p, INITIAL_RETRY_STATE, fixedRandom(0.999))
  assert.equal(first.state.prevDelayMs, 100 + 0.999 * 200)
  const second = nextRetry(p, first.state, fixedRandom(0.5))
  // hi = 3 * 299.8 = 899.4; 100 + 0.5 * 799.4 = 499.7
  assert.equal(second.delayMs, 500)
  assert.equal(second.state.prevDelayMs, 100 + 0.5 * (3 * 299.8 - 100))
})

test('every policy counts the failure and returns a whole number of ms within 0..cap', () => {
  for (const name of RETRY_POLICIES) {
    for (const r of [0, 0.5, 0.999]) {
      for (const n of [0, 1, 4, 20]) {
        const out = nextRetry(policy(name), after(n, 300), fixedRandom(r))
        assert.equal(out.state.failures, n + 1, name)
        assert.ok(Number.isInteger(out.delayMs), `${name} n=${n} r=${r}: ${out.delayMs}`)
        assert.ok(out.delayMs >= 0 && out.delayMs <= 1000, `${name} n=${n} r=${r}: ${out.delayMs}`)
      }
    }
  }
})

test('attemptsMax: give up on the attemptsMax-th failure, never when 0', () => {
  const p = policy('exponential', { attemptsMax: 3 })
  let s = INITIAL_RETRY_STATE
  const giveUps: boolean[] = []
  for (let i = 0; i < 3; i++) {
    const out = nextRetry(p, s, noRandom)
    giveUps.push(out.giveUp)
    s = out.state
  }
  assert.deepEqual(giveUps, [false, false, true])
  assert.equal(nextRetry(policy('fixed', { attemptsMax: 1 }), INITIAL_RETRY_STATE, noRandom).giveUp, true)
  assert.equal(nextRetry(policy('fixed', { attemptsMax: 0 }), after(1_000_000), noRandom).giveUp, false)
})

test('a very large failure count does not overflow past the cap', () => {
  for (const name of RETRY_POLICIES) {
    for (const n of [1023, 1024, 10_000, Number.MAX_SAFE_INTEGER - 1]) {
      const out = nextRetry(policy(name), after(n, 1000), fixedRandom(0.5))
      assert.ok(Number.isFinite(out.delayMs), `${name} n=${n}: ${out.delayMs}`)
      assert.ok(out.delayMs <= 1000, `${name} n=${n}: ${out.delayMs}`)
    }
  }
  assert.equal(nextRetry(policy('exponential'), after(10_000), noRandom).delayMs, 1000)
  assert.equal(nextRetry(policy('full-jitter'), after(10_000), fixedRandom(0.5)).delayMs, 500)
  assert.equal(nextRetry(policy('equal-jitter'), after(10_000), fixedRandom(0.5)).delayMs, 750)
})

test('a zero base with a very large failure count stays a number', () => {
  for (const name of ['exponential', 'full-jitter', 'equal-jitter'] as const) {
    const out = nextRetry(policy(name, { baseMs: 0 }), after(1024), fixedRandom(0.5))
    assert.equal(out.delayMs, 0, name)
    assert.ok(Number.isFinite(out.state.prevDelayMs), name)
  }
})
