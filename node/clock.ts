/**
 * Emulated time. Every duration in the config is in emulated milliseconds; the
 * clock turns it into real milliseconds with `timeScale` (real seconds per
 * emulated second), so minutes of behaviour fit into seconds of test time.
 */
import { setTimeout as delay } from 'node:timers/promises'

export class Clock {
  readonly timeScale: number
  constructor (timeScale: number) { this.timeScale = timeScale }

  /** Emulated now, in ms. Comparable across processes of one run (same scale). */
  now (): number { return Date.now() / this.timeScale }

  /** Real ms for an emulated duration. */
  real (emulatedMs: number): number { return Math.max(0, Math.round(emulatedMs * this.timeScale)) }

  /** Sleep an emulated duration; rejects with the signal's reason when aborted. */
  async sleep (emulatedMs: number, signal?: AbortSignal): Promise<void> {
    await delay(this.real(emulatedMs), undefined, signal === undefined ? undefined : { signal })
  }

  /** An AbortSignal that fires after an emulated duration, or when `parent` aborts. */
  timeout (emulatedMs: number, parent?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(Math.max(1, this.real(emulatedMs)))
    return parent === undefined ? t : AbortSignal.any([t, parent])
  }
}
