import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { loadScenarioFile } from '../../orchestrator/scenario/load.ts'
import { arrivalRatePerS, demandOf, loginCapacityPerS, offeredLoadOf, serviceMsForOfferedLoad, type LoginDemand, type OfferedLoadProblem } from '../../orchestrator/scenario/offered-load.ts'
import { defaultSetting } from '../../node/contract/config.ts'
import { ROOT } from '../helpers/cli.ts'

/** A skype-2007-like login server: one login at a time, 1 s each; 50 users over 100 s. */
const skype: LoginDemand = { peers: 50, rampUpMs: 100_000, settings: { loginConcurrencyMax: 1, loginServiceMs: 1000, loginRatePerS: 100 } }

const refused = (d: LoginDemand, rho: number, problem: OfferedLoadProblem): void => {
  assert.throws(() => serviceMsForOfferedLoad(d, rho), (err: Error & { problem?: string, offeredLoad?: number }) =>
    err.name === 'OfferedLoadError' && err.problem === problem && Object.is(err.offeredLoad, rho), `${rho}: ${problem}`)
}

test('skype-2007 offers 0.625 of its login capacity: 0.5 arrivals/s against 0.8 login/s', async () => {
  const s = (await loadScenarioFile(join(ROOT, 'scenarios/skype-2007.yaml'))).scenario
  const d = demandOf(s)
  assert.equal(arrivalRatePerS(d), 0.5)
  assert.equal(loginCapacityPerS(d), 0.8)
  assert.equal(offeredLoadOf(d), 0.625)
  assert.equal(serviceMsForOfferedLoad(d, 0.625), 1250, 'its own load keeps its own server')
})

test('the capacity is the lower of service and rate limit, with the defaults for settings not given', () => {
  const conc = defaultSetting('loginConcurrencyMax')
  const serviceMs = defaultSetting('loginServiceMs')
  const rate = defaultSetting('loginRatePerS')
  assert.equal(loginCapacityPerS({ ...skype, settings: {} }), Math.min(conc * 1000 / serviceMs, rate))
  assert.equal(loginCapacityPerS({ ...skype, settings: { ...skype.settings, loginRatePerS: 0.5 } }), 0.5, 'the rate limit binds')
  assert.equal(loginCapacityPerS({ ...skype, settings: { loginConcurrencyMax: 3, loginServiceMs: 1500, loginRatePerS: 100 } }), 2, '3 at a time, 1.5 s each')
  // No service time: only the rate limit is left.
  assert.equal(offeredLoadOf({ ...skype, settings: { loginServiceMs: 0, loginRatePerS: 2 } }), 0.25)
})

test('without a ramp-up everyone arrives at once: no offered load', () => {
  assert.equal(arrivalRatePerS({ ...skype, rampUpMs: 0 }), null)
  assert.equal(offeredLoadOf({ ...skype, rampUpMs: 0 }), null)
  refused({ ...skype, rampUpMs: 0 }, 0.5, 'ramp-up')
})

test('an offered load sets the service time: skype-2007 at 1 needs 2 s per login, at 0.25 half a second', () => {
  assert.equal(serviceMsForOfferedLoad(skype, 0.5), 1000, 'its own load keeps its own server')
  assert.equal(serviceMsForOfferedLoad(skype, 1), 2000)
  assert.equal(serviceMsForOfferedLoad(skype, 0.25), 500)
  assert.equal(serviceMsForOfferedLoad(skype, 2), 4000)
  // Concurrency scales it: four at a time, each may take four times as long.
  assert.equal(serviceMsForOfferedLoad({ ...skype, settings: { ...skype.settings, loginConcurrencyMax: 4 } }, 1), 8000)
  for (const rho of [0.25, 0.5, 0.75, 1, 1.5, 2]) {
    const loginServiceMs = serviceMsForOfferedLoad(skype, rho)
    assert.equal(offeredLoadOf({ ...skype, settings: { ...skype.settings, loginServiceMs } }), rho, `round trip at ${rho}`)
  }
})

test('the service time is rounded to whole ms; a value whole ms cannot realise closely is refused', () => {
  // 3 peers over 10 s: 0.3/s; at 0.5 the server must serve 0.6/s: 1666.67 ms.
  const few: LoginDemand = { peers: 3, rampUpMs: 10_000, settings: { loginConcurrencyMax: 1, loginRatePerS: 100 } }
  assert.equal(serviceMsForOfferedLoad(few, 0.5), 1667)
  // skype (with a rate limit that does not bind) at 0.0003 needs 0.6 ms (1 ms would make it 0.0005);
  // at 0.0001, 0.2 ms (0 ms: no service time at all).
  const fast: LoginDemand = { ...skype, settings: { ...skype.settings, loginRatePerS: 100_000 } }
  refused(fast, 0.0003, 'resolution')
  refused(fast, 0.0001, 'resolution')
  assert.equal(serviceMsForOfferedLoad(fast, 0.05), 100)
  assert.equal(serviceMsForOfferedLoad(fast, 0.002), 4, 'exact, however short')
})

test('a value at which the rate limit would bind is refused: the service time could not set it', () => {
  const limited: LoginDemand = { ...skype, settings: { ...skype.settings, loginRatePerS: 1 } }
  // 0.25 needs 2 logins/s, above the limit of 1.
  refused(limited, 0.25, 'rate-limit')
  // 0.5 needs exactly 1/s: the limit is reached, not exceeded.
  assert.equal(serviceMsForOfferedLoad(limited, 0.5), 1000)
  assert.equal(serviceMsForOfferedLoad(limited, 1), 2000)
})

test('an offered load must be a number above 0', () => {
  for (const rho of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) refused(skype, rho, 'value')
})
