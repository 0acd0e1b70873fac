import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HostCache, loadHostCache, saveHostCache, type HostCacheEntry } from '../../node/host-cache.ts'

const keep = <T>(xs: readonly T[]): T[] => xs.slice()
const reverse = <T>(xs: readonly T[]): T[] => xs.slice().reverse()
const names = (es: HostCacheEntry[]): string[] => es.map(e => e.name)

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'patchday-hc-'))
  try {
    await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('learn adds a new supernode with no history', () => {
  const c = new HostCache(10)
  c.learn('p-001', '/ip4/127.2.1.2/tcp/4001', null, 100)
  assert.deepEqual(c.get('p-001'), { name: 'p-001', addr: '/ip4/127.2.1.2/tcp/4001', load: null, seenAt: 100, lastOkAt: null, failures: 0 })
  assert.equal(c.size, 1)
})

test('learn takes newer news and ignores older news', () => {
  const c = new HostCache(10)
  c.learn('p-001', 'addr-1', 0.2, 100)
  c.learn('p-001', 'addr-old', 0.9, 50)
  assert.deepEqual(c.get('p-001'), { name: 'p-001', addr: 'addr-1', load: 0.2, seenAt: 100, lastOkAt: null, failures: 0 })
  c.learn('p-001', 'addr-2', 0.4, 100) // same time counts as news
  assert.equal(c.get('p-001')?.addr, 'addr-2')
  c.learn('p-001', 'addr-3', null, 200) // newer without a load keeps the load known
  assert.deepEqual(c.get('p-001'), { name: 'p-001', addr: 'addr-3', load: 0.4, seenAt: 200, lastOkAt: null, failures: 0 })
})

test('learn keeps the failure count and the last ok', () => {
  const c = new HostCache(10)
  c.learn('p-001', 'a', 0.1, 100)
  c.ok('p-001', 150)
  c.fail('p-001')
  c.learn('p-001', 'a', 0.2, 300)
  assert.equal(c.get('p-001')?.failures, 1)
  assert.equal(c.get('p-001')?.lastOkAt, 150)
})

test('ok resets failures, records the time and moves seenAt forward only', () => {
  const c = new HostCache(10)
  c.learn('p-001', 'a', null, 500)
  c.fail('p-001'); c.fail('p-001')
  assert.equal(c.get('p-001')?.failures, 2)
  c.ok('p-001', 400)
  assert.equal(c.get('p-001')?.failures, 0)
  assert.equal(c.get('p-001')?.lastOkAt, 400)
  assert.equal(c.get('p-001')?.seenAt, 500)
  c.ok('p-001', 900)
  assert.equal(c.get('p-001')?.seenAt, 900)
})

test('ok, fail and forget of an unknown name change nothing', () => {
  const c = new HostCache(10)
  c.learn('p-001', 'a', null, 1)
  c.ok('p-999', 5); c.fail('p-999'); c.forget('p-999')
  assert.deepEqual(names(c.all()), ['p-001'])
  assert.equal(c.get('p-999'), undefined)
})

test('forget removes the entry', () => {
  const c = new HostCache(10)
  c.learn('p-001', 'a', null, 1)
  c.learn('p-002', 'b', null, 1)
  c.forget('p-001')
  assert.deepEqual(names(c.all()), ['p-002'])
})

test('candidates: fewest failures first, then least loaded (unknown as 0.5), then most recently seen', () => {
  const c = new HostCache(10)
  c.learn('failed', 'a', 0, 1000); c.fail('failed')
  c.learn('loaded', 'a', 0.9, 1000)
  c.learn('unknown', 'a', null, 1000)
  c.learn('light-old', 'a', 0.1, 100)
  c.learn('light-new', 'a', 0.1, 900)
  assert.deepEqual(names(c.candidates(10, keep)), ['light-new', 'light-old', 'unknown', 'loaded', 'failed'])
  assert.deepEqual(names(c.candidates(10, reverse)), ['light-new', 'light-old', 'unknown', 'loaded', 'failed'])
})

test('candidates: the shuffle breaks exact ties', () => {
  const c = new HostCache(10)
  for (const n of ['a', 'b', 'c']) c.learn(n, n, 0.5, 100)
  assert.deepEqual(names(c.candidates(10, keep)), ['a', 'b', 'c'])
  assert.deepEqual(names(c.candidates(10, reverse)), ['c', 'b', 'a'])
})

test('candidates: limit and exclude', () => {
  const c = new HostCache(10)
  c.learn('a', 'a', 0.1, 1); c.learn('b', 'b', 0.2, 1); c.learn('c', 'c', 0.3, 1)
  assert.deepEqual(names(c.candidates(2, keep)), ['a', 'b'])
  assert.deepEqual(names(c.candidates(10, keep, new Set(['a']))), ['b', 'c'])
  assert.deepEqual(names(c.candidates(10, keep, new Set(['a', 'b', 'c']))), [])
  assert.deepEqual(names(c.candidates(0, keep)), [])
})

test('fresh counts entries seen within ttl and averages the loads they told', () => {
  const c = new HostCache(10)
  c.learn('a', 'a', 0.2, 1000)
  c.learn('b', 'b', 0.6, 950)
  c.learn('c', 'c', null, 990)
  c.learn('stale', 's', 1, 800)
  assert.deepEqual(c.fresh(1000, 100), { count: 3, meanLoad: 0.4 })
  assert.deepEqual(c.fresh(1000, 50), { count: 3, meanLoad: 0.4 }) // 950 is exactly at the edge: still fresh
  assert.deepEqual(c.fresh(1000, 49), { count: 2, meanLoad: 0.2 })
  assert.deepEqual(c.fresh(1000, 200), { count: 4, meanLoad: 0.6 })
  assert.deepEqual(c.fresh(5000, 100), { count: 0, meanLoad: null })
  const onlyUnknown = new HostCache(10)
  onlyUnknown.learn('x', 'x', null, 0)
  assert.deepEqual(onlyUnknown.fresh(0, 10), { count: 1, meanLoad: null })
})

test('past max, the entries that failed most go first, then the stalest', () => {
  const c = new HostCache(3)
  c.learn('old', 'a', null, 10)
  c.learn('failing', 'a', null, 500); c.fail('failing'); c.fail('failing')
  c.learn('mid', 'a', null, 300)
  c.learn('new', 'a', null, 600)
  assert.equal(c.size, 3)
  assert.deepEqual(names(c.all()).sort(), ['mid', 'new', 'old'])
  c.learn('newer', 'a', null, 700)
  assert.deepEqual(names(c.all()).sort(), ['mid', 'new', 'newer'])
})

test('the constructor applies the limit too', () => {
  const entries: HostCacheEntry[] = [10, 20, 30, 40].map(t => ({ name: `p-${t}`, addr: 'a', load: null, seenAt: t, lastOkAt: null, failures: 0 }))
  const c = new HostCache(2, entries)
  assert.deepEqual(names(c.all()).sort(), ['p-30', 'p-40'])
  // It copies: changing the input later does not change the cache.
  const e = entries[3] as HostCacheEntry
  e.failures = 99
  assert.equal(c.get('p-40')?.failures, 0)
})

test('serialize and parse round-trip every field', () => {
  const c = new HostCache(10)
  c.learn('p-001', '/ip4/127.2.1.2/tcp/4001/p2p/A', 0.25, 1234.5)
  c.learn('p-002', '/ip4/127.2.1.3/tcp/4001/p2p/B', null, 99)
  c.ok('p-001', 2000)
  c.fail('p-002')
  const back = HostCache.parse(c.serialize(), 10)
  assert.deepEqual(back.all(), c.all())
  assert.equal(back.max, 10)
  // A smaller max on load trims.
  assert.equal(HostCache.parse(c.serialize(), 1).size, 1)
})

test('parse refuses a wrong shape, a wrong version and extra fields', () => {
  const good = { name: 'p-001', addr: 'a', load: 0.5, seenAt: 1, lastOkAt: null, failures: 0 }
  for (const text of [
    '{"version":2,"entries":[]}',
    '{"entries":[]}',
    JSON.stringify({ version: 1, entries: [{ ...good, load: 2 }] }),
    JSON.stringify({ version: 1, entries: [{ ...good, failures: -1 }] }),
    JSON.stringify({ version: 1, entries: [{ ...good, name: '' }] }),
    JSON.stringify({ version: 1, entries: [{ ...good, extra: true }] })
  ]) {
    assert.throws(() => HostCache.parse(text, 10), { name: 'CorruptStateError' }, text)
  }
  assert.throws(() => HostCache.parse('{"version":1,', 10), { name: 'CorruptStateError' })
  assert.equal(HostCache.parse(JSON.stringify({ version: 1, entries: [good] }), 10).size, 1)
})

test('loadHostCache: a missing file is a first boot (null)', async () => {
  await withDir(async (dir) => {
    assert.equal(await loadHostCache(join(dir, 'hostcache.json'), 10), null)
  })
})

test('loadHostCache: a corrupt file throws', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'hostcache.json')
    await writeFile(p, '{"version":1,"entries":[{"name":"p-0')
    await assert.rejects(loadHostCache(p, 10), { name: 'CorruptStateError' })
    await writeFile(p, '{"version":1,"entries":"nope"}')
    await assert.rejects(loadHostCache(p, 10), { name: 'CorruptStateError' })
  })
})

test('loadHostCache: other read errors are not taken for a first boot', async () => {
  await withDir(async (dir) => {
    // A directory where the file should be: EISDIR, not ENOENT.
    await assert.rejects(loadHostCache(dir, 10), (err: unknown) => (err as NodeJS.ErrnoException).code === 'EISDIR')
  })
})

test('saveHostCache then loadHostCache round-trips, leaving no temporary file', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'hostcache.json')
    const c = new HostCache(10)
    c.learn('p-001', 'a', 0.5, 10)
    await saveHostCache(p, c)
    assert.deepEqual((await loadHostCache(p, 10))?.all(), c.all())
    assert.deepEqual(await readdir(dir), ['hostcache.json'])
    // Overwrite.
    c.learn('p-002', 'b', null, 20)
    await saveHostCache(p, c)
    assert.equal((await loadHostCache(p, 10))?.size, 2)
    assert.deepEqual(await readdir(dir), ['hostcache.json'])
  })
})

test('saveHostCache is atomic: a failed write leaves the previous file whole', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'hostcache.json')
    const before = new HostCache(10)
    before.learn('p-001', 'a', 0.5, 10)
    await saveHostCache(p, before)
    const text = await readFile(p, 'utf8')
    // Make the temporary file impossible to write: the save must fail before touching the real file.
    await mkdir(`${p}.tmp`)
    const after = new HostCache(10)
    after.learn('p-009', 'z', 0.1, 99)
    await assert.rejects(saveHostCache(p, after))
    assert.equal(await readFile(p, 'utf8'), text)
  })
})
