/**
 * The parts of the Docker log collector on their own: the batched writer and
 * the cursor journal on a temporary folder, the reading of one log response,
 * and the folder lock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatTs, type LogMessage, type StreamName } from '../../orchestrator/runtime/docker/demux.ts'
import { CURSORS_FILE, CursorJournal, JOURNAL_FILE, parseJournal, type ContainerState, type CursorSnapshot } from '../../orchestrator/runtime/docker/logs-journal.ts'
import { LOCK_FILE, lockLogsDir, unlockLogsDir } from '../../orchestrator/runtime/docker/logs-lock.ts'
import { readMessages, type LogResponse } from '../../orchestrator/runtime/docker/logs-response.ts'
import { BatchWriter } from '../../orchestrator/runtime/docker/logs-writer.ts'

const TS = (i: number): string => formatTs(Date.UTC(2026, 10, 26, 12) / 1000 + i, 0)
const LIMITS = { journalBytesMax: 1024 * 1024, snapshotIntervalMs: 60_000, pendingBytesMax: 64, openFilesMax: 2 }

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-dlp-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

async function openParts (dir: string, states: Map<string, ContainerState>, warnings: string[] = []): Promise<{ journal: CursorJournal, writer: BatchWriter, counters: { lines: number, bytes: number, batches: number } }> {
  const journal = new CursorJournal(dir, LIMITS)
  const counters = { lines: 0, bytes: 0, batches: 0 }
  const writer = new BatchWriter(dir, journal, LIMITS, id => states.get(id), counters)
  await journal.load(w => { warnings.push(w) })
  writer.reset()
  journal.open()
  return { journal, writer, counters }
}

const journalText = (dir: string): string => readFileSync(join(dir, JOURNAL_FILE), 'utf8')
const snapshot = (dir: string): CursorSnapshot => JSON.parse(readFileSync(join(dir, CURSORS_FILE), 'utf8')) as CursorSnapshot

test('writer: one batch is one journal record (sizes before, merged segments, states after), then the appends', async (t) => {
  const dir = tempDir(t)
  const states = new Map<string, ContainerState>([['c1', { name: 'p-1', out: { ts: TS(2), n: 1 } }], ['c2', { name: 'p-2', err: { ts: TS(1), n: 1 } }]])
  const { journal, writer, counters } = await openParts(dir, states)
  writer.append('p-1.log', 'c1', 'out', Buffer.from('a\n'))
  writer.append('p-1.log', 'c1', 'out', Buffer.from('bb\n'))
  writer.append('p-2.err', 'c2', 'err', Buffer.from('e\n'))
  writer.touch('c1')
  writer.touch('c2')
  await writer.flush()
  assert.equal(readFileSync(join(dir, 'p-1.log'), 'utf8'), 'a\nbb\n')
  assert.equal(readFileSync(join(dir, 'p-2.err'), 'utf8'), 'e\n')
  const [rec] = parseJournal(journalText(dir))
  assert.deepEqual(rec, {
    seq: 1,
    c: { c1: states.get('c1'), c2: states.get('c2') },
    f: [{ file: 'p-1.log', from: 0, segs: [['c1', 'out', 5]] }, { file: 'p-2.err', from: 0, segs: [['c2', 'err', 2]] }]
  })
  assert.deepEqual(journal.get('c1'), states.get('c1'))
  assert.deepEqual(counters, { lines: 3, bytes: 7, batches: 1 })

  writer.append('p-1.log', 'c1', 'out', Buffer.from('c\n'))
  writer.forget('c2')
  await writer.flush()
  const second = parseJournal(journalText(dir))[1]
  assert.deepEqual(second?.f, [{ file: 'p-1.log', from: 5, segs: [['c1', 'out', 2]] }])
  assert.deepEqual(second?.c, { c2: null }, 'a forgotten container is recorded as null, an untouched one not at all')
  assert.equal(journal.get('c2'), undefined)

  await writer.finish()
  writer.close()
  journal.close()
  assert.equal(journalText(dir), '', 'the snapshot took the journal in')
  assert.deepEqual(snapshot(dir), { version: 1, seq: 2, containers: { c1: states.get('c1') } })
})

test('writer: overfull above pendingBytesMax; more files than openFilesMax still get every byte', async (t) => {
  const dir = tempDir(t)
  const states = new Map<string, ContainerState>()
  const { journal, writer } = await openParts(dir, states)
  for (let round = 0; round < 3; round++) {
    for (const f of ['a', 'b', 'c']) writer.append(`${f}.log`, f, 'out', Buffer.from(`${f}${round}\n`))
    await writer.flush()
  }
  writer.append('a.log', 'a', 'out', Buffer.alloc(64, 'x'))
  assert.equal(writer.overfull, false)
  writer.append('a.log', 'a', 'out', Buffer.from('\n'))
  assert.equal(writer.overfull, true)
  await writer.flush()
  assert.equal(writer.overfull, false)
  writer.close()
  journal.close()
  for (const f of ['b', 'c']) assert.equal(readFileSync(join(dir, `${f}.log`), 'utf8'), `${f}0\n${f}1\n${f}2\n`)
  assert.equal(statSync(join(dir, 'a.log')).size, 9 + 65)
})

test('writer: after a failed batch every later one fails, and no snapshot replaces the journal', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'bad.log')) // opening it for appending fails
  const { journal, writer } = await openParts(dir, new Map())
  const before = readFileSync(join(dir, CURSORS_FILE), 'utf8')
  writer.append('bad.log', 'c1', 'out', Buffer.from('x\n'))
  await assert.rejects(writer.flush(), { code: 'EISDIR' })
  assert.equal(writer.failed, true)
  writer.append('ok.log', 'c2', 'out', Buffer.from('y\n'))
  await assert.rejects(writer.flush(), /an earlier batch failed/)
  await writer.finish()
  writer.close()
  journal.close()
  assert.equal(readFileSync(join(dir, CURSORS_FILE), 'utf8'), before)
})

test('journal: a record whose lines were cut keeps the old cursor and counts the bytes already in the file', async (t) => {
  const dir = tempDir(t)
  const old: ContainerState = { name: 'p-1', out: { ts: TS(1), n: 1 }, safe: TS(1) }
  const first = await openParts(dir, new Map([['c1', old]]))
  first.writer.append('p-1.log', 'c1', 'out', Buffer.from('one\n'))
  first.writer.touch('c1')
  await first.writer.flush()
  first.writer.close()
  first.journal.close()
  // A batch whose record made it, and 3 of its 8 bytes: a collector killed in the middle of the append.
  const next: ContainerState = { name: 'p-1', out: { ts: TS(3), n: 1 }, safe: TS(3) }
  const journal = new CursorJournal(dir, LIMITS)
  await journal.load(() => undefined)
  journal.open()
  journal.append({ c1: next }, [{ file: 'p-1.log', from: 4, segs: [['c1', 'out', 8]] }])
  journal.close()
  appendFileSync(join(dir, 'p-1.log'), 'two')
  const warnings: string[] = []
  const again = new CursorJournal(dir, LIMITS)
  await again.load(w => { warnings.push(w) })
  assert.deepEqual(again.get('c1'), { ...old, skip: { out: 3 } })
  assert.deepEqual(warnings, ['docker logs: a write was cut (p-1.log: 3 of 8 bytes); the rest comes from Docker again'])
})

function frame (type: number, payload: string): Buffer {
  const p = Buffer.from(payload)
  const h = Buffer.alloc(8)
  h[0] = type
  h.writeUInt32BE(p.length, 4)
  return Buffer.concat([h, p])
}

test('readMessages: messages in order by stream; early stop is uncovered; a response cut before its end rejects', async () => {
  const o = { name: 'p-1', lineBytesMax: 1024, warn: () => undefined }
  const body = Buffer.concat([frame(1, `${TS(1)} a\n`), frame(2, `${TS(2)} b\n`), frame(1, `${TS(3)} c\n`)])
  const got: Array<[StreamName, string, string]> = []
  const each = (s: StreamName, m: LogMessage): void => { got.push([s, m.ts, m.body.toString()]) }
  assert.equal(await readMessages(Readable.from([body.subarray(0, 5), body.subarray(5)]) as unknown as LogResponse, o, each), 'ended')
  assert.deepEqual(got, [['out', TS(1), 'a\n'], ['err', TS(2), 'b\n'], ['out', TS(3), 'c\n']])

  let seen = 0
  assert.equal(await readMessages(Readable.from([body]) as unknown as LogResponse, o, () => ++seen < 2), 'uncovered')
  assert.equal(seen, 2)

  const cut = new Readable({ read () {} })
  cut.push(body.subarray(0, 20))
  setImmediate(() => { cut.destroy() })
  await assert.rejects(readMessages(cut as unknown as LogResponse, o, each), /closed before its end/)
})

test('readMessages: an engine error in the stream is a warning, a TTY stream is read as lines', async () => {
  const warnings: string[] = []
  const o = { name: 'p-1', lineBytesMax: 1024, warn: (w: string) => { warnings.push(w) } }
  const got: string[] = []
  const each = (_s: StreamName, m: LogMessage): void => { got.push(m.body.toString()) }
  await readMessages(Readable.from([Buffer.concat([frame(2, 'Error grabbing logs: boom'), frame(1, `${TS(1)} ok\n`)])]) as unknown as LogResponse, o, each)
  assert.deepEqual(got, ['ok\n'])
  assert.deepEqual(warnings, ['docker logs: p-1: engine: Error grabbing logs: boom'])
  got.length = 0
  warnings.length = 0
  await readMessages(Readable.from([Buffer.from(`${TS(1)} tty line\r\n`)]) as unknown as LogResponse, o, each)
  assert.deepEqual(got, ['tty line\n'])
  assert.match(warnings[0] ?? '', /a TTY container/)
})

test('lock: a second lock of a folder held by a live process is refused; unlocking frees it', async (t) => {
  const dir = tempDir(t)
  await lockLogsDir(dir)
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), String(process.pid))
  await assert.rejects(lockLogsDir(dir), { name: 'DockerLogsLockedError' })
  await unlockLogsDir(dir)
  await lockLogsDir(dir)
  await unlockLogsDir(dir)
})
