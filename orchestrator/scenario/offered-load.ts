/**
 * Offered load against the login server (pure): how fast users arrive while the
 * network first forms, against how fast the login server can log them in. All
 * in emulated time, as the scenario writes it.
 *
 *   arrival rate   λ = peers.count / rampUp                           (logins per second)
 *   login capacity C = min(loginConcurrencyMax x 1000 / loginServiceMs, loginRatePerS)
 *   offered load   ρ = λ / C
 *
 * with the scenario's settings or their defaults (node/contract/config.ts). skype-2007:
 * 50 peers over 100 s = 0.5/s against 1 login at a time of 1 s = 1/s: ρ = 0.5.
 * Peers that join later (`joins`) have their own pace and are not part of λ.
 *
 * A sweep's `offeredLoad` axis realises a value ρ by the login server's service time,
 * keeping the peers and the ramp-up: loginServiceMs = loginConcurrencyMax x 1000 x ρ / λ,
 * in whole ms. The storm's burst then meets a proportionally smaller (larger ρ) or larger
 * (smaller ρ) login server too. The rate limit must not bind at that capacity, or the
 * service time would not set ρ: such a value is refused, as is one that whole
 * milliseconds cannot realise closely (RESOLUTION).
 */
import { defaultSetting, type ConfigKey, type PeerConfig } from '../../node/contract/config.ts'
import type { Scenario } from './schema.ts'
import { formatSignificant } from '../units.ts'

/** The sweep's load key. */
export const OFFERED_LOAD = 'offeredLoad'
/** The axis' name in tables and diagrams. */
export const OFFERED_LOAD_LABEL = 'offered load (arrivals / login capacity)'
/** The settings the login capacity is made of: a model must not set them under an offeredLoad sweep. */
export const CAPACITY_KEYS: readonly ConfigKey[] = ['loginConcurrencyMax', 'loginServiceMs', 'loginRatePerS']
/** Largest relative error whole milliseconds of service time may leave in a realised ρ. */
export const RESOLUTION = 0.01

/** Who logs in over how long, and the login server's settings (the scenario's; defaults for the rest). */
export interface LoginDemand {
  /** Peers whose first boots spread over the ramp-up. */
  peers: number
  /** Emulated ms; 0: everyone at once. */
  rampUpMs: number
  settings: Partial<PeerConfig>
}

export type OfferedLoadProblem = 'value' | 'ramp-up' | 'rate-limit' | 'resolution'

/** A value of ρ that this scenario cannot realise; `problem` says why. */
export class OfferedLoadError extends Error {
  override name = 'OfferedLoadError'
  readonly problem: OfferedLoadProblem
  readonly offeredLoad: number
  constructor (problem: OfferedLoadProblem, offeredLoad: number, message: string) {
    super(message)
    this.problem = problem
    this.offeredLoad = offeredLoad
  }
}

/** A scenario's demand: its starting peers, ramp-up and settings. */
export function demandOf (s: Pick<Scenario, 'peers' | 'settings'>): LoginDemand {
  return { peers: s.peers.count, rampUpMs: s.peers.rampUpMs ?? 0, settings: s.settings }
}

const setting = <K extends 'loginConcurrencyMax' | 'loginServiceMs' | 'loginRatePerS'>(d: LoginDemand, key: K): number =>
  d.settings[key] ?? defaultSetting(key)

/** λ, logins per emulated second; null when everyone arrives at once (no ramp-up). */
export function arrivalRatePerS (d: LoginDemand): number | null {
  return d.rampUpMs > 0 ? d.peers * 1000 / d.rampUpMs : null
}

/** C, logins per emulated second: the service time over the concurrency, or the rate limit, whichever is lower. */
export function loginCapacityPerS (d: LoginDemand): number {
  const serviceMs = setting(d, 'loginServiceMs')
  const served = serviceMs > 0 ? setting(d, 'loginConcurrencyMax') * 1000 / serviceMs : Infinity
  return Math.min(served, setting(d, 'loginRatePerS'))
}

/** ρ = λ / C; null without a ramp-up. */
export function offeredLoadOf (d: LoginDemand): number | null {
  const arrivals = arrivalRatePerS(d)
  return arrivals === null ? null : arrivals / loginCapacityPerS(d)
}

const fmt = (x: number): string => formatSignificant(x, 4)

/**
 * The loginServiceMs that makes the offered load `rho`, keeping peers, ramp-up, concurrency
 * and rate limit. Throws OfferedLoadError when ρ is not a positive number, there is no
 * ramp-up, the rate limit would bind, or whole ms cannot realise ρ within RESOLUTION.
 */
export function serviceMsForOfferedLoad (d: LoginDemand, rho: number): number {
  if (!(Number.isFinite(rho) && rho > 0)) throw new OfferedLoadError('value', rho, `offered load must be a number above 0, got ${rho}`)
  const arrivals = arrivalRatePerS(d)
  if (arrivals === null || !(arrivals > 0)) throw new OfferedLoadError('ramp-up', rho, 'an offered load needs a ramp-up above 0: the arrival rate is peers.count / rampUp')
  const concurrency = setting(d, 'loginConcurrencyMax')
  // concurrency x 1000 / serviceMs = λ / ρ
  const exact = concurrency * 1000 * rho / arrivals
  const serviceMs = Math.round(exact)
  const rate = setting(d, 'loginRatePerS')
  const needed = arrivals / rho
  if (rate < needed) {
    throw new OfferedLoadError('rate-limit', rho, `offered load ${rho} needs a login capacity of ${fmt(needed)}/s (${fmt(arrivals)} arrivals/s / ${rho}), above loginRatePerS ${rate}: ` +
      'the rate limit would bind and the service time could not set the load; raise loginRatePerS or use a larger value')
  }
  const realised = serviceMs < 1 ? Infinity : offeredLoadOf({ ...d, settings: { ...d.settings, loginServiceMs: serviceMs } }) ?? Infinity
  if (Math.abs(realised - rho) > RESOLUTION * rho) {
    throw new OfferedLoadError('resolution', rho, `offered load ${rho} needs loginServiceMs ${fmt(exact)}; whole milliseconds cannot realise it within ${RESOLUTION * 100}% (more peers or a longer ramp-up, fewer concurrent logins, or a larger value)`)
  }
  return serviceMs
}
