/**
 * One seed for all randomness. A run has one seed; every process derives its own
 * stream from (seed, peer, incarnation) so that a run is reproducible as far as
 * the operating system's scheduling lets it be. Never use Math.random().
 *
 * sfc32 seeded through a string hash (cyrb128): small, fast and well mixed.
 */
function cyrb128 (str: string): [number, number, number, number] {
  let h1 = 1779033703; let h2 = 3144134277; let h3 = 1013904242; let h4 = 2773480762
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= (h2 ^ h3 ^ h4); h2 ^= h1; h3 ^= h1; h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

export interface Rng {
  /** Uniform in [0, 1). */
  next: () => number
  /** Uniform integer in [lo, hi]. */
  int: (lo: number, hi: number) => number
  /** Uniform float in [lo, hi). */
  range: (lo: number, hi: number) => number
  /** Fisher-Yates shuffle of a copy. */
  shuffle: <T>(items: readonly T[]) => T[]
  /** A new independent stream derived from this one's seed and a label. */
  fork: (label: string) => Rng
}

export function createRng (seed: string): Rng {
  let [a, b, c, d] = cyrb128(seed)
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  // Warm up: the first outputs of sfc32 are weakly mixed.
  for (let i = 0; i < 12; i++) next()
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    shuffle: (items) => {
      const out = items.slice()
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const tmp = out[i] as (typeof out)[number]
        out[i] = out[j] as (typeof out)[number]
        out[j] = tmp
      }
      return out
    },
    fork: (label) => createRng(`${seed}/${label}`)
  }
  return rng
}

/** A fresh seed for a run when the user gives none (printed, so the run can be repeated). */
export function newSeed (entropy: () => Uint8Array): string {
  return Buffer.from(entropy()).toString('hex').slice(0, 16)
}
