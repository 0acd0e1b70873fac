/** The pure parts of the Docker log collector: demux, timestamps, line assembly and the dedupe rule, journal replay. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  FrameDemuxer, LineAssembler, RawLineSplitter, canonicalTs, isMultiplexed, parseMessage, tsAddMs, tsFloorSeconds, tsToMs,
  windowCovers, type AssembledLine, type Cursor, type Frame
} from '../../orchestrator/runtime/docker/demux.ts'
import { parseJournal, replayJournal, type CursorSnapshot, type JournalRecord } from '../../orchestrator/runtime/docker/logs.ts'

function frame (type: number, payload: string | Buffer): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload
  const h = Buffer.alloc(8)
  h[0] = type
  h.writeUInt32BE(p.length, 4)
  return Buffer.concat([h, p])
}

const T = (i: number): string => `2026-11-26T12:00:00.${String(i).padStart(9, '0')}Z`

test('the demuxer returns the same frames whatever the chunking, one frame per message', () => {
  const frames = [frame(1, `${T(1)} a\n`), frame(2, `${T(2)} err\n`), frame(1, Buffer.alloc(20_000, 0x78)), frame(1, ''), frame(3, 'engine said no\n')]
  const all = Buffer.concat(frames)
  const expect = (got: Frame[]): void => {
    assert.deepEqual(got.map(f => f.type), [1, 2, 1, 1, 3])
    assert.deepEqual(got.map(f => f.payload.length), [frames[0]!.length - 8, frames[1]!.length - 8, 20_000, 0, 15])
    assert.equal(got[0]!.payload.toString(), `${T(1)} a\n`)
  }
  for (const cut of [1, 3, 7, 8, 9, 45, 46, 47, 1000, 20_050, all.length - 1]) {
    const d = new FrameDemuxer()
    expect([...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))])
    assert.equal(d.bufferedBytes, 0)
  }
  const d = new FrameDemuxer()
  const got: Frame[] = []
  for (let i = 0; i < all.length; i++) got.push(...d.push(all.subarray(i, i + 1)))
  expect(got)
})

test('the demuxer refuses a bad header and a frame over its limit, by error name', () => {
  assert.throws(() => new FrameDemuxer().push(Buffer.from('2026-11-26T12:00:00Z hello\n')), { name: 'MalformedLogStreamError' })
  assert.throws(() => new FrameDemuxer(1000).push(frame(1, Buffer.alloc(1001))), { name: 'MalformedLogStreamError' })
  assert.equal(isMultiplexed(1), true)
  assert.equal(isMultiplexed(0x32), false)
})

test('a TTY stream is split on newlines, with the carriage return dropped', () => {
  const s = new RawLineSplitter()
  const got = [...s.push(Buffer.from(`${T(1)} {"a":1}\r\n${T(2)} {"b"`)), ...s.push(Buffer.from(':2}\r\n'))]
  assert.deepEqual(got.map(f => f.payload.toString()), [`${T(1)} {"a":1}\n`, `${T(2)} {"b":2}\n`])
})

test('timestamps: the canonical form, other RFC3339 forms, arithmetic and Docker\'s whole-second since', () => {
  assert.equal(canonicalTs('2026-11-26T12:53:29.861499717Z'), '2026-11-26T12:53:29.861499717Z')
  assert.equal(canonicalTs('2026-11-26T12:53:29.8615Z'), '2026-11-26T12:53:29.861500000Z')
  assert.equal(canonicalTs('2026-11-26T12:53:29Z'), '2026-11-26T12:53:29.000000000Z')
  assert.equal(canonicalTs('2026-11-26T14:53:29.5+02:00'), '2026-11-26T12:53:29.500000000Z')
  assert.equal(canonicalTs('Error grabbing logs'), undefined)
  assert.equal(tsAddMs('2026-11-26T12:53:29.861499717Z', -2000), '2026-11-26T12:53:27.861499717Z')
  assert.equal(tsAddMs('2026-11-26T12:53:29.861499717Z', 200), '2026-11-26T12:53:30.061499717Z')
  assert.equal(tsAddMs('2026-11-26T00:00:00.100000000Z', -200), '2026-11-25T23:59:59.900000000Z')
  assert.equal(tsFloorSeconds('2026-11-26T12:53:29.999999999Z'), Date.UTC(2026, 10, 26, 12, 53, 29) / 1000)
  assert.equal(tsToMs('2026-11-26T12:53:29.861499717Z'), Date.UTC(2026, 10, 26, 12, 53, 29, 861))
  // Canonical timestamps sort as strings in time order.
  assert.ok('2026-11-26T12:53:29.861499717Z' < '2026-11-26T12:53:30.000000000Z')
})

test('parseMessage strips the timestamp and keeps the process bytes exactly; an engine error has none', () => {
  const m = parseMessage(Buffer.from(`${T(5)} {"msg":"héllo"}\n`))
  assert.equal(m?.ts, T(5))
  assert.equal(m?.body.toString(), '{"msg":"héllo"}\n')
  assert.equal(parseMessage(Buffer.from('2026-11-26T13:53:29.5+01:00 x\n'))?.ts, '2026-11-26T12:53:29.500000000Z')
  assert.equal(parseMessage(Buffer.from('Error grabbing logs: unexpected EOF\n')), undefined)
})

// --- line assembly and the dedupe rule ---------------------------------------

type Msg = [ts: string, body: string]

function feed (a: LineAssembler, msgs: Msg[]): AssembledLine[] {
  return msgs.flatMap(([ts, body]) => a.push(ts, Buffer.from(body)))
}
const text = (lines: AssembledLine[]): string[] => lines.map(l => l.data.toString())

test('whole lines come out as they are, and the cursor names the last one', () => {
  const a = new LineAssembler(undefined)
  const lines = feed(a, [[T(1), '{"n":0}\n'], [T(2), '{"n":1}\n']])
  assert.deepEqual(text(lines), ['{"n":0}\n', '{"n":1}\n'])
  assert.deepEqual(a.done, { ts: T(2), n: 1 })
})

test('Docker\'s 16 KiB pieces of a long line (one timestamp) are joined into one line', () => {
  const a = new LineAssembler(undefined, 1024, 16)
  const lines = feed(a, [[T(1), 'a'.repeat(16)], [T(1), 'b'.repeat(16)], [T(1), 'c\n'], [T(2), 'next\n']])
  assert.deepEqual(text(lines), ['a'.repeat(16) + 'b'.repeat(16) + 'c\n', 'next\n'])
  assert.deepEqual(lines[0]!.cursor, { ts: T(1), n: 3 })
})

test('a line left without a newline at exit ends the line: short piece, or a piece followed by another timestamp', () => {
  const a = new LineAssembler(undefined, 1024, 16)
  assert.deepEqual(text(feed(a, [[T(1), 'bye']])), ['bye\n'])
  assert.equal(a.openTs(), undefined)
  const b = new LineAssembler(undefined, 1024, 16)
  const lines = feed(b, [[T(1), 'x'.repeat(16)], [T(9), '{"boot":2}\n']])
  assert.deepEqual(text(lines), ['x'.repeat(16) + '\n', '{"boot":2}\n'])
  assert.deepEqual(lines.map(l => l.cursor), [{ ts: T(1), n: 1 }, { ts: T(9), n: 1 }])
})

test('dedupe: a fetch from before the cursor drops exactly what was appended, ties on one timestamp included', () => {
  const log: Msg[] = [[T(1), 'a\n'], [T(2), 'b\n'], [T(2), 'c\n'], [T(2), 'd\n'], [T(3), 'e\n']]
  for (let k = 0; k <= log.length; k++) {
    const first = new LineAssembler(undefined)
    const before = text(feed(first, log.slice(0, k)))
    const second = new LineAssembler(first.done)
    const after = text(feed(second, log)) // the whole log again, as a since= fetch returns it
    assert.deepEqual([...before, ...after], ['a\n', 'b\n', 'c\n', 'd\n', 'e\n'], `cut after ${k}`)
  }
})

test('an unfinished line at the end of a fetch is dropped and comes again; at the container\'s end it is final', () => {
  const a = new LineAssembler(undefined, 1024, 16)
  assert.deepEqual(text(feed(a, [[T(1), 'ok\n'], [T(2), 'y'.repeat(16)]])), ['ok\n'])
  assert.equal(a.openTs(), T(2))
  assert.deepEqual(a.end(false), [])
  assert.deepEqual(a.done, { ts: T(1), n: 1 })
  const again = feed(a, [[T(1), 'ok\n'], [T(2), 'y'.repeat(16)], [T(2), 'z\n']])
  assert.deepEqual(text(again), ['y'.repeat(16) + 'z\n'])
  const b = new LineAssembler(undefined, 1024, 16)
  feed(b, [[T(2), 'y'.repeat(16)]])
  assert.deepEqual(text(b.end(true)), ['y'.repeat(16) + '\n'])
})

test('a line over the limit becomes one JSON marker with its size and head; memory stays bounded', () => {
  const a = new LineAssembler(undefined, 40, 16)
  const pieces: Msg[] = Array.from({ length: 10 }, () => [T(4), 'q'.repeat(16)] as Msg)
  const lines = feed(a, [...pieces, [T(4), 'end\n'], [T(5), 'after\n']])
  assert.equal(lines.length, 2)
  const marker = JSON.parse(lines[0]!.data.toString()) as { time: number, truncatedBytes: number, head: string }
  assert.equal(marker.truncatedBytes, 164)
  assert.equal(marker.head, 'q'.repeat(40))
  assert.equal(marker.time, tsToMs(T(4)))
  assert.equal(lines[0]!.truncatedBytes, 164)
  assert.deepEqual(lines[0]!.cursor, { ts: T(4), n: 11 })
  assert.equal(lines[1]!.data.toString(), 'after\n')
})

test('a tail window proves completeness only when its oldest message is older than safe minus twice the skew', () => {
  const safe = '2026-11-26T12:00:10.000000000Z'
  assert.equal(windowCovers('2026-11-26T12:00:05.999999999Z', safe, 2000), true)
  assert.equal(windowCovers('2026-11-26T12:00:06.000000000Z', safe, 2000), false)
  assert.equal(windowCovers('2026-11-26T12:00:11.000000000Z', safe, 2000), false)
})

// --- journal replay -----------------------------------------------------------

const cur = (i: number, n = 1): Cursor => ({ ts: T(i), n })
const base: CursorSnapshot = { version: 1, seq: 4, containers: { c1: { name: 'p-1', out: cur(10), safe: T(10) } } }
const rec: JournalRecord = {
  seq: 5,
  c: { c1: { name: 'p-1', out: cur(20), err: cur(15), safe: T(20) } },
  f: [
    { file: 'p-1.log', from: 100, segs: [['c1', 'out', 50]] },
    { file: 'p-1.err', from: 0, segs: [['c1', 'err', 10]] }
  ]
}

test('replay: a batch whose bytes all landed keeps its cursors', () => {
  const r = replayJournal(base, [rec], f => (f === 'p-1.log' ? 150 : 10))
  assert.deepEqual(r.snapshot.containers.c1, rec.c.c1)
  assert.equal(r.snapshot.seq, 5)
  assert.deepEqual(r.torn, [])
})

test('replay: a batch that did not land keeps the old cursors, so its lines are fetched again', () => {
  const r = replayJournal(base, [rec], f => (f === 'p-1.log' ? 100 : 0))
  assert.deepEqual(r.snapshot.containers.c1, { name: 'p-1', out: cur(10), safe: T(10) })
})

test('replay: a cut write keeps the old cursor and the count of bytes already in the file; the other stream moves on', () => {
  const r = replayJournal(base, [rec], f => (f === 'p-1.log' ? 137 : 10))
  assert.deepEqual(r.snapshot.containers.c1, { name: 'p-1', out: cur(10), err: cur(15), safe: T(10), skip: { out: 37 } })
  assert.deepEqual(r.torn, ['p-1.log: 37 of 50 bytes'])
})

test('replay: records already in the snapshot are skipped, earlier records apply whole, null forgets', () => {
  const old: JournalRecord = { seq: 3, c: { c1: null }, f: [] }
  const gone: JournalRecord = { seq: 6, c: { c1: null }, f: [] }
  assert.deepEqual(replayJournal(base, [old], () => 0).snapshot.containers.c1, base.containers.c1)
  // rec is not the last record here, so its bytes count as landed whatever the sizes say now.
  const r = replayJournal(base, [rec, { seq: 6, c: { c2: { name: 'p-2', out: cur(1) } }, f: [] }], () => 0)
  assert.deepEqual(r.snapshot.containers.c1, rec.c.c1)
  assert.deepEqual(replayJournal(base, [rec, gone], () => 0).snapshot.containers, {})
})

test('parseJournal ignores a last record cut by a crash and refuses a broken one before it, by error name', () => {
  const good = JSON.stringify(rec)
  assert.equal(parseJournal(`${good}\n${good.slice(0, 20)}`).length, 1)
  assert.equal(parseJournal(`${good}\n`).length, 1)
  assert.equal(parseJournal('').length, 0)
  assert.throws(() => parseJournal(`${good.slice(0, 20)}\n${good}\n`), { name: 'CursorFileError' })
})
