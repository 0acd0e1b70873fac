/** The executor's sense of time, behind an interface so tests can drive a fake clock. */
import { setTimeout as sleep } from 'node:timers/promises'

export interface StormClock {
  /** Monotonic milliseconds. */
  now: () => number
  /** Resolves true after `ms`, or false as soon as `signal` aborts (never rejects). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<boolean>
}

export const realClock: StormClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    if (signal?.aborted === true) return false
    try {
      await sleep(Math.max(0, ms), undefined, signal === undefined ? undefined : { signal })
      return true
    } catch (err) {
      if ((err as Error).name === 'AbortError') return false
      throw err
    }
  }
}
