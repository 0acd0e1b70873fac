import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EVENT_NAMES, isEventName, parseEventLine } from '../../node/contract/events.ts'

const base = { level: 30, time: 1_700_000_000_000, run: 'run-1', peer: 'p-001', inc: 2, role: 'client', msg: 'whatever' }
const line = (fields: Record<string, unknown>): string => JSON.stringify({ ...base, ...fields })

test('a valid line parses into its event, payload included', () => {
  const e = parseEventLine(line({ ev: 'attach.ok', sn: 'p-003', latencyMs: 12, round: 1 }))
  assert.ok(e !== undefined)
  assert.equal(e.ev, 'attach.ok')
  assert.equal(e.peer, 'p-001')
  assert.equal(e.inc, 2)
  assert.equal(e.time, base.time)
  if (e.ev !== 'attach.ok') throw new Error('narrowing')
  assert.equal(e.sn, 'p-003')
  assert.equal(e.latencyMs, 12)
})

test('every event name parses', () => {
  for (const ev of EVENT_NAMES) assert.equal(parseEventLine(line({ ev }))?.ev, ev)
})

test('a line with a trailing carriage return or spaces still parses', () => {
  assert.equal(parseEventLine(line({ ev: 'boot' }) + '\r')?.ev, 'boot')
  assert.equal(parseEventLine(line({ ev: 'boot' }) + '  ')?.ev, 'boot')
})

test('non-JSON lines are not events', () => {
  for (const l of ['', 'hello', 'Error: boom', '{not json}', '{', '}', 'null', '42', '"boot"', '[{"ev":"boot"}]', '\u0000']) {
    assert.equal(parseEventLine(l), undefined, JSON.stringify(l))
  }
})

test('a partial last line (cut by a kill) is not an event', () => {
  const full = line({ ev: 'online', sn: 'p-002', sinceBootMs: 10 })
  for (const cut of [1, 10, full.length - 1]) assert.equal(parseEventLine(full.slice(0, cut)), undefined, full.slice(0, cut))
})

test('pino lines without ev are not events', () => {
  assert.equal(parseEventLine(JSON.stringify(base)), undefined)
  assert.equal(parseEventLine(line({ err: 'heartbeat failed', level: 20 })), undefined)
})

test('an unknown or mistyped ev is not an event', () => {
  for (const ev of ['reboot', 'Boot', 'attach', 'login.ok ', '', 7, null, true, { name: 'boot' }]) {
    assert.equal(parseEventLine(line({ ev })), undefined, JSON.stringify(ev))
  }
})

test('a line without a numeric time or a string peer is not an event', () => {
  assert.equal(parseEventLine(line({ ev: 'boot', time: '2024-01-01' })), undefined)
  assert.equal(parseEventLine(line({ ev: 'boot', peer: 17 })), undefined)
  const { time: _t, ...noTime } = base
  assert.equal(parseEventLine(JSON.stringify({ ...noTime, ev: 'boot' })), undefined)
  const { peer: _p, ...noPeer } = base
  assert.equal(parseEventLine(JSON.stringify({ ...noPeer, ev: 'boot' })), undefined)
})

test('isEventName knows exactly the listed names', () => {
  for (const ev of EVENT_NAMES) assert.equal(isEventName(ev), true)
  for (const v of ['nope', 'toString', '__proto__', 'constructor', undefined, 1]) assert.equal(isEventName(v), false, String(v))
  assert.equal(new Set(EVENT_NAMES).size, EVENT_NAMES.length)
})
