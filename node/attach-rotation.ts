/**
 * Trying supernodes in turn: after a failed login at a supernode, or a busy
 * answer from one, a client remembers that supernode, and its next attach
 * rounds try the supernodes it has not just failed with first. The supernodes it avoids come last, the
 * longest-avoided first, so a round still has candidates when the host cache
 * holds no others. A Skype client that could not log in went on through its
 * host cache: the many distinct peers contacted per client during the 2007
 * outage (about 10x, Rossi, Mellia and Meo) are this search.
 *
 * `attachAvoidMax` bounds the memory (0: off, every round starts from the
 * host cache's best). Pure: the client keeps the list and calls these.
 */

/** The avoid list after a failed login at `sn`: `sn` moves to the end (the most recent), the oldest go past `max`. */
export function avoidAfterFailure (avoid: readonly string[], sn: string, max: number): string[] {
  if (max <= 0) return []
  const next = avoid.filter(name => name !== sn)
  next.push(sn)
  return next.slice(Math.max(0, next.length - max))
}

/**
 * The host cache's candidates (best first) reordered for a round: those not
 * avoided keep their order and come first, then the avoided ones, the
 * longest-avoided (earliest in `avoid`) first.
 */
export function rotateCandidates<T extends { name: string }> (candidates: readonly T[], avoid: readonly string[]): T[] {
  if (avoid.length === 0) return [...candidates]
  const rank = new Map(avoid.map((name, i) => [name, i]))
  const fresh = candidates.filter(c => !rank.has(c.name))
  const avoided = candidates.filter(c => rank.has(c.name)).sort((a, b) => (rank.get(a.name) as number) - (rank.get(b.name) as number))
  return [...fresh, ...avoided]
}
