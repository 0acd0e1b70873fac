/**
 * The host cache: up to `max` supernode addresses this peer knows, kept on disk
 * in its state directory so that it survives a reboot (like Skype's, which held
 * up to 200). A first boot seeds it with the bootstrap supernodes.
 *
 * The structure is pure (time passed in); load/save are the only I/O.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import * as z from 'zod/mini'
import { CorruptStateError } from './contract/errors.ts'
import { describeIssue } from './contract/schema-issue.ts'

export const HostCacheEntry = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(32)),
  addr: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Last known load 0..1 and when it was learned (ms); null when never told. */
  load: z.nullable(z.number().check(z.minimum(0), z.maximum(1))),
  seenAt: z.number(),
  lastOkAt: z.nullable(z.number()),
  failures: z.int().check(z.minimum(0))
})
export type HostCacheEntry = z.infer<typeof HostCacheEntry>

const FileFormat = z.object({ version: z.literal(1), entries: z.array(HostCacheEntry) })

export class HostCache {
  readonly max: number
  private readonly entries = new Map<string, HostCacheEntry>()

  constructor (max: number, entries: HostCacheEntry[] = []) {
    this.max = max
    for (const e of entries) this.entries.set(e.name, { ...e })
    this.evict()
  }

  get size (): number { return this.entries.size }
  get (name: string): HostCacheEntry | undefined { return this.entries.get(name) }
  all (): HostCacheEntry[] { return [...this.entries.values()] }

  /**
   * Learn of a supernode (from bootstrap, gossip, a busy answer or a heartbeat);
   * `seenAt` is when someone last heard from it directly. Older news than what
   * the cache holds changes nothing.
   */
  learn (name: string, addr: string, load: number | null, seenAt: number): void {
    const e = this.entries.get(name)
    if (e === undefined) {
      this.entries.set(name, { name, addr, load, seenAt, lastOkAt: null, failures: 0 })
      this.evict()
      return
    }
    if (seenAt < e.seenAt) return
    e.addr = addr
    if (load !== null) e.load = load
    e.seenAt = seenAt
  }

  ok (name: string, nowMs: number): void {
    const e = this.entries.get(name)
    if (e === undefined) return
    e.failures = 0
    e.lastOkAt = nowMs
    e.seenAt = Math.max(e.seenAt, nowMs)
  }

  fail (name: string): void {
    const e = this.entries.get(name)
    if (e !== undefined) e.failures++
  }

  forget (name: string): void { this.entries.delete(name) }

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

  /** Past the limit, drop the entries that failed most, then the stalest. */
  private evict (): void {
    if (this.entries.size <= this.max) return
    const worst = this.all().sort((a, b) => (b.failures - a.failures) || (a.seenAt - b.seenAt))
    for (const e of worst.slice(0, this.entries.size - this.max)) this.entries.delete(e.name)
  }

  serialize (): string {
    return JSON.stringify({ version: 1, entries: this.all() })
  }

  /** Throws CorruptStateError for text that is not JSON of the file's shape. */
  static parse (text: string, max: number): HostCache {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new CorruptStateError(`host cache is not JSON: ${(err as Error).message}`)
    }
    const parsed = FileFormat.safeParse(value)
    if (!parsed.success) throw new CorruptStateError(`host cache of the wrong shape: ${describeIssue(parsed.error)}`)
    return new HostCache(max, parsed.data.entries)
  }
}

/** Load from disk; a missing file is a first boot (returns null). A corrupt file is an error. */
export async function loadHostCache (path: string, max: number): Promise<HostCache | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  return HostCache.parse(text, max)
}

/** Atomic save: a power cut (SIGKILL) never leaves half a file. */
export async function saveHostCache (path: string, cache: HostCache): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, cache.serialize())
  await rename(tmp, path)
}
