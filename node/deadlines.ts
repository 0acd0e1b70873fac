/**
 * Keys that hold until a deadline (a ban, a vouch), at most `max` of them: setting
 * a key moves it to the back, past `max` the least recently set goes first, and a
 * key read after its deadline is forgotten. Pure; time is passed in.
 */
export class Deadlines<K> {
  private readonly until = new Map<K, number>()
  private readonly max: number

  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max ${max} is not a positive whole number`)
    this.max = max
  }

  /** Keys held, expired ones not yet forgotten included. */
  get size (): number { return this.until.size }

  /** `key` holds until `untilMs`. */
  set (key: K, untilMs: number): void {
    this.until.delete(key)
    if (this.until.size >= this.max) this.until.delete(this.until.keys().next().value as K)
    this.until.set(key, untilMs)
  }

  /** Whether `key` holds at `nowMs`; an expired key is forgotten. */
  holds (key: K, nowMs: number): boolean {
    const t = this.until.get(key)
    if (t === undefined) return false
    if (nowMs < t) return true
    this.until.delete(key)
    return false
  }
}
