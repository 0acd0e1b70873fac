/**
 * DockerLogCollector.sync() against a fake engine that serves a container log
 * the way dockerd does (frames, timestamps, tail, since): dedupe across passes,
 * and recovery from an orchestrator killed between the journal record and the
 * append, or in the middle of the append.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import { formatTs } from '../../orchestrator/runtime/docker/demux.ts'
import { CURSORS_FILE, DockerLogCollector, JOURNAL_FILE, LOCK_FILE, type CursorSnapshot, type JournalRecord } from '../../orchestrator/runtime/docker/logs.ts'

interface Entry { type: 1 | 2, ts: string, body: Buffer }
interface FakeContainer { id: string, name: string, labels: Record<string, string>, running: boolean, log: Entry[] }

const BASE_S = Date.UTC(2026, 10, 26, 12) / 1000
const ts = (i: number): string => formatTs(BASE_S + Math.floor(i / 10), (i % 10) * 100_000_000)

class FakeEngine {
  readonly containers = new Map<string, FakeContainer>()
  readonly requests: Array<Record<string, unknown>> = []

  add (id: string, name: string): FakeContainer {
    const c = { id, name, labels: { 'patchday.run': 'u1' }, running: false, log: [] }
    this.containers.set(id, c)
    return c
  }

  get docker (): Dockerode {
    return {
      listContainers: async () => [...this.containers.values()].map(c => ({ Id: c.id, Names: ['/' + c.name], Labels: c.labels, State: c.running ? 'running' : 'exited' })),
      getContainer: (id: string) => ({
        inspect: async () => {
          const c = this.containers.get(id)
          if (c === undefined) throw Object.assign(new Error('no such container'), { statusCode: 404 })
          return { Name: '/' + c.name, Config: { Labels: c.labels }, State: { Running: c.running, FinishedAt: '2026-11-26T00:00:00Z' } }
        }
      }),
      modem: {
        dial: (opts: { path: string, options: Record<string, unknown> }, cb: (err: Error | null, res: unknown) => void) => {
          this.requests.push(opts.options)
          const c = this.containers.get(opts.path.split('/')[2] ?? '')
          if (c === undefined) { cb(Object.assign(new Error('no such container'), { statusCode: 404 }), null); return }
          let entries = c.log
          if (typeof opts.options.tail === 'number') entries = entries.slice(-opts.options.tail)
          const since = opts.options.since
          if (typeof since === 'number') entries = entries.filter(e => e.ts >= formatTs(since, 0))
          const frames = entries.map(e => {
            const payload = Buffer.concat([Buffer.from(e.ts + ' '), e.body])
            const h = Buffer.alloc(8)
            h[0] = e.type
            h.writeUInt32BE(payload.length, 4)
            return Buffer.concat([h, payload])
          })
          // Arbitrary chunking, as a socket would deliver it.
          const all = Buffer.concat(frames)
          const chunks: Buffer[] = []
          for (let off = 0; off < all.length; off += 777) chunks.push(all.subarray(off, off + 777))
          cb(null, Readable.from(chunks))
        }
      }
    } as unknown as Dockerode
  }
}

function lines (c: FakeContainer, from: number, to: number, type: 1 | 2 = 1): void {
  for (let i = from; i < to; i++) c.log.push({ type, ts: ts(i), body: Buffer.from(JSON.stringify({ n: i, pad: 'x'.repeat(i % 7) }) + '\n') })
}
const expected = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => JSON.stringify({ n: from + k, pad: 'x'.repeat((from + k) % 7) }) + '\n').join('')

function setup (): { dir: string, engine: FakeEngine, c: FakeContainer, collector: () => DockerLogCollector } {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-dlc-'))
  const engine = new FakeEngine()
  const c = engine.add('c1', 'peer-1')
  const collector = (): DockerLogCollector => new DockerLogCollector({
    docker: engine.docker,
    logsDir: dir,
    filters: { label: ['patchday.run=u1'] },
    nameOf: x => x.labels['patchday.run'] === 'u1' ? x.name.replace(/^peer-/, 'p-') : null,
    tailLines: 8,
    skewMs: 100
  })
  return { dir, engine, c, collector }
}

test('sync writes stdout and stderr apart, joins long lines, and a second pass adds only new lines', async (t) => {
  const { dir, c, collector } = setup()
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  lines(c, 0, 5)
  const long = 'L'.repeat(40_000)
  c.log.push({ type: 1, ts: ts(5), body: Buffer.from(long.slice(0, 16384)) }, { type: 1, ts: ts(5), body: Buffer.from(long.slice(16384, 32768)) }, { type: 1, ts: ts(5), body: Buffer.from(long.slice(32768) + '\n') })
  c.log.push({ type: 2, ts: ts(6), body: Buffer.from('warn: on stderr\n') })
  assert.deepEqual(await collector().sync(), { containers: 1, lines: 7 })
  assert.equal(readFileSync(join(dir, 'p-1.log'), 'utf8'), expected(0, 5) + long + '\n')
  assert.equal(readFileSync(join(dir, 'p-1.err'), 'utf8'), 'warn: on stderr\n')
  assert.deepEqual(await collector().sync(), { containers: 1, lines: 0 })
  lines(c, 7, 12)
  assert.deepEqual(await collector().sync(), { containers: 1, lines: 5 })
  assert.equal(readFileSync(join(dir, 'p-1.log'), 'utf8'), expected(0, 5) + long + '\n' + expected(7, 12))
  const snap = JSON.parse(readFileSync(join(dir, CURSORS_FILE), 'utf8')) as CursorSnapshot
  assert.deepEqual(snap.containers.c1?.out, { ts: ts(11), n: 1 })
  assert.deepEqual(snap.containers.c1?.err, { ts: ts(6), n: 1 })
})

test('a short tail is read first, and a full fetch from the cursor when the window does not reach back', async (t) => {
  const { dir, engine, c, collector } = setup()
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  lines(c, 0, 10)
  await collector().sync()
  lines(c, 10, 14) // the 8-line tail reaches back past the cursor
  engine.requests.length = 0
  await collector().sync()
  assert.deepEqual(engine.requests.map(r => r.tail), [8])
  lines(c, 14, 60) // it does not: fetch again from the cursor (seconds, minus the skew)
  engine.requests.length = 0
  await collector().sync()
  assert.deepEqual(engine.requests.map(r => [r.tail, r.since]), [[8, undefined], [undefined, BASE_S + 1]])
  assert.equal(readFileSync(join(dir, 'p-1.log'), 'utf8'), expected(0, 60))
})

/** The files as a collector killed after writing the journal record of lines from..to, and `landed` bytes of them, leaves them. */
function crashAfterRecord (dir: string, from: number, to: number, landed: number): void {
  const snap = JSON.parse(readFileSync(join(dir, CURSORS_FILE), 'utf8')) as CursorSnapshot
  const bytes = Buffer.from(expected(from, to))
  const size = statSync(join(dir, 'p-1.log')).size
  const rec: JournalRecord = {
    seq: snap.seq + 1,
    c: { c1: { name: 'p-1', out: { ts: ts(to - 1), n: 1 }, safe: ts(to - 1) } },
    f: [{ file: 'p-1.log', from: size, segs: [['c1', 'out', bytes.length]] }]
  }
  writeFileSync(join(dir, JOURNAL_FILE), JSON.stringify(rec) + '\n')
  appendFileSync(join(dir, 'p-1.log'), bytes.subarray(0, landed))
}

for (const [what, landed] of [['before the append', 0], ['in the middle of the append (a cut line)', 37], ['after the append, before the snapshot', -1]] as const) {
  test(`killed ${what}: the next collector leaves every line exactly once`, async (t) => {
    const { dir, c, collector } = setup()
    t.after(() => { rmSync(dir, { recursive: true, force: true }) })
    lines(c, 0, 10)
    await collector().sync()
    lines(c, 10, 20)
    crashAfterRecord(dir, 10, 20, landed === -1 ? Buffer.byteLength(expected(10, 20)) : landed)
    lines(c, 20, 25)
    await collector().sync()
    assert.equal(readFileSync(join(dir, 'p-1.log'), 'utf8'), expected(0, 25))
  })
}

test('a second collector on the same folder is refused while the first holds it; a dead holder\'s lock is taken over', async (t) => {
  const { dir, c, collector } = setup()
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  lines(c, 0, 3)
  writeFileSync(join(dir, LOCK_FILE), String(process.pid))
  await assert.rejects(collector().sync(), { name: 'DockerLogsLockedError' })
  writeFileSync(join(dir, LOCK_FILE), '999999999') // no such process
  assert.deepEqual(await collector().sync(), { containers: 1, lines: 3 })
})

test('containers that nameOf rejects are skipped, and a container Docker no longer has is forgotten', async (t) => {
  const { dir, engine, c, collector } = setup()
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const other = engine.add('c2', 'peer-2')
  other.labels = { 'patchday.run': 'other' }
  lines(other, 0, 3)
  lines(c, 0, 3)
  assert.deepEqual(await collector().sync(), { containers: 1, lines: 3 })
  engine.containers.delete('c1')
  await collector().sync()
  const snap = JSON.parse(readFileSync(join(dir, CURSORS_FILE), 'utf8')) as CursorSnapshot
  assert.deepEqual(snap.containers, {})
})
