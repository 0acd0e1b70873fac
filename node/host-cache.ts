/**
 * The host cache: up to `max` supernode addresses this peer knows, kept on disk
 * in its state directory so that it survives a reboot (like Skype's, which held
 * up to 200). A first boot seeds it with the bootstrap supernodes.
 *
 * Entries heard of second-hand (supernode lists) are bounded in trust: each
 * source adds at most a few, they never displace or re-address an entry this
 * peer reached itself or was configured with, and they are dropped when they
 * fail. One hostile source cannot take a cache over, and a poisoned cache
 * heals as its poisoned entries fail (they survive a restart only until then).
 *
 * The structure is pure (time passed in); load/save are the only I/O.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import * as z from 'zod/mini'
import { CorruptStateError } from './contract/errors.ts'
import { describeIssue } from './contract/schema-issue.ts'

/** A signed record as relayed (node/sn-record.ts); the entry's name and address are the rest of it. */
export const HostCacheRecord = z.strictObject({ load: z.number().check(z.minimum(0), z.maximum(1)), issuedAt: z.number(), exp: z.number(), sig: z.string().check(z.minLength(1), z.maxLength(128)) })
export type HostCacheRecord = z.infer<typeof HostCacheRecord>

/**
 * How far an entry is trusted. Absent: this peer reached the supernode itself
 * (or the entry predates trust levels). `bootstrap`: configured. `gossip`: only
 * heard of, from `via` (the peer id of the source that told): bounded per source,
 * dropped after a few failures, never displacing a trusted entry.
 */
export type Trust = 'bootstrap' | 'gossip'

export const HostCacheEntry = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(32)),
  addr: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Last known load 0..1 and when it was learned (ms); null when never told. */
  load: z.nullable(z.number().check(z.minimum(0), z.maximum(1))),
  seenAt: z.number(),
  lastOkAt: z.nullable(z.number()),
  failures: z.int().check(z.minimum(0)),
  trust: z.optional(z.enum(['bootstrap', 'gossip'])),
  via: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  rec: z.optional(HostCacheRecord)
})
export type HostCacheEntry = z.infer<typeof HostCacheEntry>

const FileFormat = z.object({ version: z.literal(1), entries: z.array(HostCacheEntry) })

export interface HostCacheLimits {
  /** Entries one source may have added by hearsay (hostCacheSourceMax). */
  sourceMax: number
  /** Failures after which a hearsay entry is dropped (hostCacheGossipFailMax). */
  gossipFailMax: number
}

export const DEFAULT_HOST_CACHE_LIMITS: HostCacheLimits = { sourceMax: 16, gossipFailMax: 2 }

/** What became of an entry heard of (`hear`). */
export type HearOutcome = 'added' | 'updated' | 'stale' | 'source-cap' | 'conflict' | 'full'

/** A verified record as heard: the signed fields of SnInfo. */
export interface HeardRecord { name: string, addr: string, load: number, issuedAt: number, exp: number, sig: string }

const isGossip = (e: HostCacheEntry): boolean => e.trust === 'gossip'

/** Both addresses name the same libp2p identity (`/p2p/<id>`); false when either names none. */
function samePeerId (a: string, b: string): boolean {
  const id = (addr: string): string | null => { const i = addr.lastIndexOf('/p2p/'); return i < 0 ? null : addr.slice(i + 5) }
  const x = id(a)
  return x !== null && x === id(b)
}

export class HostCache {
  readonly max: number
  readonly limits: HostCacheLimits
  private readonly entries = new Map<string, HostCacheEntry>()
  /** Hearsay entries per source (`via`). */
  private readonly bySource = new Map<string, number>()

  constructor (max: number, entries: HostCacheEntry[] = [], limits: HostCacheLimits = DEFAULT_HOST_CACHE_LIMITS) {
    this.max = max
    this.limits = limits
    for (const e of entries) this.put({ ...e })
    this.evict()
  }

  get size (): number { return this.entries.size }
  get (name: string): HostCacheEntry | undefined { return this.entries.get(name) }
  all (): HostCacheEntry[] { return [...this.entries.values()] }
  /** Hearsay entries `source` has added and that are still here. */
  fromSource (source: string): number { return this.bySource.get(source) ?? 0 }

  private put (e: HostCacheEntry): void {
    this.remove(e.name)
    this.entries.set(e.name, e)
    if (isGossip(e) && e.via !== undefined) this.bySource.set(e.via, this.fromSource(e.via) + 1)
  }

  private remove (name: string): void {
    const e = this.entries.get(name)
    if (e === undefined) return
    this.entries.delete(name)
    this.unsource(e)
  }

  private unsource (e: HostCacheEntry): void {
    if (!isGossip(e) || e.via === undefined) return
    const n = this.fromSource(e.via) - 1
    if (n > 0) this.bySource.set(e.via, n)
    else this.bySource.delete(e.via)
  }

  /**
   * Learn of a supernode first-hand (bootstrap list, its own busy answer);
   * `seenAt` is when it was heard from. Older news than what the cache holds
   * changes nothing. First-hand news makes a hearsay entry trusted.
   */
  learn (name: string, addr: string, load: number | null, seenAt: number, trust?: 'bootstrap'): void {
    const e = this.entries.get(name)
    if (e === undefined) {
      this.put({ name, addr, load, seenAt, lastOkAt: null, failures: 0, ...(trust !== undefined ? { trust } : {}) })
      this.evict()
      return
    }
    if (seenAt < e.seenAt) return
    if (e.addr !== addr) delete e.rec
    e.addr = addr
    if (load !== null) e.load = load
    e.seenAt = seenAt
    this.trust(e, trust)
  }

  /** Raise an entry's trust (a hearsay entry becomes first-hand; bootstrap stays bootstrap). */
  private trust (e: HostCacheEntry, to: 'bootstrap' | undefined): void {
    if (e.trust === 'bootstrap' && to === undefined) return
    this.unsource(e)
    delete e.via
    if (to === undefined) delete e.trust
    else e.trust = to
  }

  /**
   * Hear of a supernode from `source` (its verified, signed record, relayed by
   * someone). Hearsay never re-addresses or displaces a trusted entry, each
   * source adds at most `sourceMax` entries, and a full cache makes room only
   * by dropping other hearsay.
   */
  hear (r: HeardRecord, source: string): HearOutcome {
    const rec: HostCacheRecord = { load: r.load, issuedAt: r.issuedAt, exp: r.exp, sig: r.sig }
    const e = this.entries.get(r.name)
    if (e !== undefined && e.addr === r.addr) {
      if (r.issuedAt < e.seenAt) {
        // Older than what we know, but a record to relay if we have none as recent.
        if (e.rec === undefined || e.rec.issuedAt < r.issuedAt) e.rec = rec
        return 'stale'
      }
      e.load = r.load
      e.seenAt = r.issuedAt
      e.rec = rec
      return 'updated'
    }
    // The same supernode (same key) at a new address, in a record newer than what we know: it signed
    // the move itself (a reboot with another IP, as Swarm gives a restarted task), so follow it.
    if (e !== undefined && e.trust !== 'bootstrap' && r.issuedAt > e.seenAt && samePeerId(e.addr, r.addr)) {
      e.addr = r.addr
      e.load = r.load
      e.seenAt = r.issuedAt
      e.failures = 0
      e.rec = rec
      return 'updated'
    }
    // A name we know at another address: a trusted or working entry is kept; only failing hearsay is replaced.
    if (e !== undefined && (!isGossip(e) || e.failures === 0)) return 'conflict'
    if (this.fromSource(source) >= this.limits.sourceMax) return 'source-cap'
    if (e === undefined && this.entries.size >= this.max && !this.dropWorstGossip()) return 'full'
    this.put({ name: r.name, addr: r.addr, load: r.load, seenAt: r.issuedAt, lastOkAt: null, failures: 0, trust: 'gossip', via: source, rec })
    return 'added'
  }

  ok (name: string, nowMs: number): void {
    const e = this.entries.get(name)
    if (e === undefined) return
    e.failures = 0
    e.lastOkAt = nowMs
    e.seenAt = Math.max(e.seenAt, nowMs)
    this.trust(e, e.trust === 'bootstrap' ? 'bootstrap' : undefined)
  }

  /** A failed try. A hearsay entry that failed `gossipFailMax` times is dropped (returns true then). */
  fail (name: string): boolean {
    const e = this.entries.get(name)
    if (e === undefined) return false
    e.failures++
    if (isGossip(e) && e.failures >= this.limits.gossipFailMax) {
      this.remove(name)
      return true
    }
    return false
  }

  forget (name: string): void { this.remove(name) }

  /** Entries with a signed record still valid at `nowMs`, to relay. */
  relayable (nowMs: number): Array<HostCacheEntry & { rec: HostCacheRecord }> {
    return this.all().filter((e): e is HostCacheEntry & { rec: HostCacheRecord } => e.rec !== undefined && e.rec.exp > nowMs)
  }

  /**
   * Candidates for an attach, best first: fewest recent failures, then least
   * loaded, then most recently seen; `shuffle` breaks ties so that a crowd of
   * peers with the same cache does not pick the same supernode.
   */
  candidates (limit: number, shuffle: <T>(xs: readonly T[]) => T[], exclude: ReadonlySet<string> = new Set()): HostCacheEntry[] {
    const pool = shuffle(this.all().filter(e => !exclude.has(e.name)))
    pool.sort((a, b) => (a.failures - b.failures) || ((a.load ?? 0.5) - (b.load ?? 0.5)) || (b.seenAt - a.seenAt))
    return pool.slice(0, limit)
  }

  /** Supernodes heard of within `ttlMs`, with their mean load (null when none told one). */
  fresh (nowMs: number, ttlMs: number): { count: number, meanLoad: number | null } {
    let count = 0; let loads = 0; let sum = 0
    for (const e of this.entries.values()) {
      if (nowMs - e.seenAt > ttlMs) continue
      count++
      if (e.load !== null) { loads++; sum += e.load }
    }
    return { count, meanLoad: loads === 0 ? null : sum / loads }
  }

  /** The entries that failed most, then the stalest, first. */
  private static worstFirst (es: HostCacheEntry[]): HostCacheEntry[] {
    return es.sort((a, b) => (b.failures - a.failures) || (a.seenAt - b.seenAt))
  }

  private dropWorstGossip (): boolean {
    const worst = HostCache.worstFirst(this.all().filter(isGossip))[0]
    if (worst === undefined) return false
    this.remove(worst.name)
    return true
  }

  /** Past the limit: hearsay goes first, then trusted entries, each the most failed, then the stalest, first. */
  private evict (): void {
    while (this.entries.size > this.max) {
      if (this.dropWorstGossip()) continue
      const worst = HostCache.worstFirst(this.all())[0]
      if (worst === undefined) return
      this.remove(worst.name)
    }
  }

  serialize (): string {
    return JSON.stringify({ version: 1, entries: this.all() })
  }

  /** Throws CorruptStateError for text that is not JSON of the file's shape. */
  static parse (text: string, max: number, limits: HostCacheLimits = DEFAULT_HOST_CACHE_LIMITS): HostCache {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new CorruptStateError(`host cache is not JSON: ${(err as Error).message}`)
    }
    const parsed = FileFormat.safeParse(value)
    if (!parsed.success) throw new CorruptStateError(`host cache of the wrong shape: ${describeIssue(parsed.error)}`)
    return new HostCache(max, parsed.data.entries, limits)
  }
}

/** Load from disk; a missing file is a first boot (returns null). A corrupt file is an error. */
export async function loadHostCache (path: string, max: number, limits: HostCacheLimits = DEFAULT_HOST_CACHE_LIMITS): Promise<HostCache | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  return HostCache.parse(text, max, limits)
}

/** Atomic save: a power cut (SIGKILL) never leaves half a file. */
export async function saveHostCache (path: string, cache: HostCache): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, cache.serialize())
  await rename(tmp, path)
}
