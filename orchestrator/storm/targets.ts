/**
 * Target specs (Jepsen's nemesis targets): which peers a storm restarts.
 *
 *   spec     := term ("," term)*
 *   term     := selector | quantity | peer-id
 *   selector := "all" | "peers" | "supernodes"       at most one; default "all"
 *   quantity := "one" | n | "count:" n | "fraction:" x at most one; default: every selected peer
 *   peer-id  := p-NNN                                 a list of ids stands alone
 *
 * Examples: `all`, `peers` (the peers that are not supernodes right now),
 * `supernodes`, `fraction:0.3` (30% of all peers), `supernodes,fraction:0.5`
 * (half of the current supernodes), `10` or `count:10`, `one`, `p-001,p-007`.
 *
 * Resolution is pure: (spec, peers with their current roles, rng) -> names. The
 * peers that match the selector are sorted by name, shuffled with the rng, and
 * the first k are taken, so the input order of `peers` does not matter and, for
 * one seed, a smaller fraction picks a subset of a larger one.
 * - `fraction:x` takes round(x * matching) peers (x in 0..1; 0 gives an empty storm).
 * - `n` is an upper bound: when fewer peers match (supernodes come and go), all
 *   of them are taken. A spec cannot know the roles of a later moment, and a
 *   storm that refuses to run half-way through a scenario helps nobody.
 * - A peer id that is not in the network is an error.
 */
import type { Rng } from '../../node/contract/rng.ts'
import type { Role } from '../../node/contract/events.ts'
import { TargetSpecError } from './errors.ts'

export const SELECTORS = ['all', 'peers', 'supernodes'] as const
export type TargetSelector = (typeof SELECTORS)[number]

export type TargetQuantity =
  | { kind: 'every' }
  | { kind: 'count', n: number }
  | { kind: 'fraction', x: number }

export type TargetSpec =
  | { kind: 'select', selector: TargetSelector, quantity: TargetQuantity }
  | { kind: 'ids', ids: string[] }

/** A peer as the resolver sees it: its name and its role at the moment of the storm. */
export interface TargetPeer {
  name: string
  role: Role
}

/** Longest spec accepted (a list of ids for a large network still fits). */
export const TARGET_SPEC_MAX_CHARS = 20_000
const PEER_ID = /^p-\d{3,}$/
const COUNT = /^(?:count:)?(\d+)$/
const FRACTION = /^fraction:(.*)$/
const EXPECTED = 'expected all, peers, supernodes, one, a count (10 or count:10), fraction:x or a peer id like p-001'

function isSelector (term: string): term is TargetSelector {
  return (SELECTORS as readonly string[]).includes(term)
}

function parseQuantity (term: string): TargetQuantity | null {
  if (term === 'one') return { kind: 'count', n: 1 }
  const count = COUNT.exec(term)
  if (count !== null) {
    const n = Number(count[1])
    if (!Number.isSafeInteger(n) || n < 1) throw new TargetSpecError(term, 'a count must be a whole number of at least 1')
    return { kind: 'count', n }
  }
  const fraction = FRACTION.exec(term)
  if (fraction !== null) {
    const text = fraction[1] ?? ''
    const x = Number(text)
    if (text.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) throw new TargetSpecError(term, 'a fraction must be a number from 0 to 1')
    return { kind: 'fraction', x }
  }
  return null
}

export function parseTargetSpec (text: string): TargetSpec {
  if (text.length > TARGET_SPEC_MAX_CHARS) throw new TargetSpecError(text.slice(0, 40) + '...', `longer than ${TARGET_SPEC_MAX_CHARS} characters`)
  const terms = text.split(',').map(t => t.trim())
  if (terms.some(t => t === '')) throw new TargetSpecError(text, 'empty term')
  let selector: TargetSelector | null = null
  let quantity: TargetQuantity | null = null
  const ids: string[] = []
  for (const term of terms) {
    if (isSelector(term)) {
      if (selector !== null) throw new TargetSpecError(term, `a second selector (already ${selector})`)
      selector = term
      continue
    }
    const q = parseQuantity(term)
    if (q !== null) {
      if (quantity !== null) throw new TargetSpecError(term, 'a second quantity')
      quantity = q
      continue
    }
    if (PEER_ID.test(term)) {
      if (ids.includes(term)) throw new TargetSpecError(term, 'listed twice')
      ids.push(term)
      continue
    }
    throw new TargetSpecError(term, EXPECTED)
  }
  if (ids.length > 0) {
    if (selector !== null || quantity !== null) throw new TargetSpecError(selector ?? formatQuantity(quantity), 'a list of peer ids cannot be combined with selectors or quantities')
    return { kind: 'ids', ids }
  }
  return { kind: 'select', selector: selector ?? 'all', quantity: quantity ?? { kind: 'every' } }
}

function formatQuantity (q: TargetQuantity | null): string {
  if (q === null || q.kind === 'every') return ''
  return q.kind === 'count' ? `count:${q.n}` : `fraction:${q.x}`
}

/** The canonical text of a spec (parseTargetSpec(formatTargetSpec(s)) equals s). */
export function formatTargetSpec (spec: TargetSpec): string {
  if (spec.kind === 'ids') return spec.ids.join(',')
  const q = formatQuantity(spec.quantity)
  return q === '' ? spec.selector : spec.selector === 'all' ? q : `${spec.selector},${q}`
}

/** The same selection with its quantity replaced by `fraction:x` (a sweep's storm-share axis). */
export function withFraction (spec: TargetSpec, x: number): TargetSpec {
  if (spec.kind === 'ids') throw new TargetSpecError(formatTargetSpec(spec), 'a list of peer ids has no share to vary')
  if (!(x >= 0 && x <= 1)) throw new TargetSpecError(`fraction:${x}`, 'a fraction must be a number from 0 to 1')
  return { ...spec, quantity: { kind: 'fraction', x } }
}

function matches (selector: TargetSelector, role: Role): boolean {
  switch (selector) {
    case 'all': return true
    case 'peers': return role !== 'supernode'
    case 'supernodes': return role === 'supernode'
  }
}

/** Names of the peers a spec picks, sorted by name. */
export function resolveTargets (spec: TargetSpec | string, peers: readonly TargetPeer[], rng: Rng): string[] {
  const s = typeof spec === 'string' ? parseTargetSpec(spec) : spec
  const names = new Set(peers.map(p => p.name))
  if (names.size !== peers.length) throw new TargetSpecError(formatTargetSpec(s), 'the peer list names a peer twice')
  if (s.kind === 'ids') {
    for (const id of s.ids) if (!names.has(id)) throw new TargetSpecError(id, 'no such peer in the network')
    return s.ids.slice().sort()
  }
  const matching = peers.filter(p => matches(s.selector, p.role)).map(p => p.name).sort()
  let k: number
  switch (s.quantity.kind) {
    case 'every': k = matching.length; break
    case 'count': k = Math.min(s.quantity.n, matching.length); break
    case 'fraction': k = Math.round(s.quantity.x * matching.length); break
  }
  return rng.shuffle(matching).slice(0, k).sort()
}
