import { test } from 'node:test'
import assert from 'node:assert/strict'
import type * as z from 'zod/mini'
import { decodeMessage, encodeMessage } from '../../node/protocol/codec.ts'
import type { SnInfo} from '../../node/protocol/messages.ts';
import {
  LoginRequest, LoginResponse, MESSAGE_BYTES_MAX, SN_LIST_MAX, SnRequest, SnResponse, SnxMessage, Ticket
} from '../../node/protocol/messages.ts'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const ticket = { account: 'user-001', peerId: '12D3KooWExample', exp: 1_700_000_000_000, sig: 'c2lnbmF0dXJl' }
const sn = (i: number): SnInfo => ({ name: `p-${i}`, addr: `/ip4/127.2.1.${i}/tcp/4001/p2p/X`, load: 0.5, issuedAt: 1000, exp: 61_000, sig: 'c2ln' })

test('encodeMessage gives the JSON bytes of the message', () => {
  const msg = { t: 'heartbeat' }
  assert.deepEqual(encodeMessage(msg), bytes('{"t":"heartbeat"}'))
})

test('encodeMessage over the limit throws MessageTooLargeError; at the limit it does not', () => {
  const msg = { t: 'x', s: '' }
  const overhead = JSON.stringify(msg).length
  assert.equal(encodeMessage({ ...msg, s: 'a'.repeat(50 - overhead) }, 50).byteLength, 50)
  assert.throws(() => encodeMessage({ ...msg, s: 'a'.repeat(51 - overhead) }, 50), { name: 'MessageTooLargeError' })
  // The limit is in bytes, not characters: 36 characters, 56 bytes.
  assert.throws(() => encodeMessage({ ...msg, s: 'é'.repeat(20) }, 50), { name: 'MessageTooLargeError' })
  // The default limit is MESSAGE_BYTES_MAX.
  assert.throws(() => encodeMessage({ s: 'a'.repeat(MESSAGE_BYTES_MAX) }), { name: 'MessageTooLargeError' })
})

test('decodeMessage refuses non-JSON with InvalidMessageError', () => {
  for (const s of ['', 'hello', '{"t":"heartbeat"', '{t:heartbeat}', 'undefined']) {
    assert.throws(() => decodeMessage(bytes(s), SnRequest), { name: 'InvalidMessageError' }, JSON.stringify(s))
  }
})

test('decodeMessage refuses invalid UTF-8 with InvalidMessageError', () => {
  assert.throws(() => decodeMessage(Uint8Array.from([0xff, 0xfe, 0xfd]), SnRequest), { name: 'InvalidMessageError' })
  // Inside an otherwise valid frame: a lone continuation byte in the name.
  const frame = Uint8Array.from([...bytes('{"t":"attach","name":"p-'), 0x80, ...bytes('"}')])
  assert.throws(() => decodeMessage(frame, SnRequest), { name: 'InvalidMessageError' })
})

test('decodeMessage refuses the wrong shape with InvalidMessageError', () => {
  for (const v of [null, 42, 'attach', [], {}, { t: 'nope' }, { t: 'attach' }, { t: 'attach', name: 'bad name!' }, { t: 'attach', name: 'x'.repeat(33) }]) {
    assert.throws(() => decodeMessage(bytes(JSON.stringify(v)), SnRequest), { name: 'InvalidMessageError' }, JSON.stringify(v))
  }
})

/** Valid messages of every schema, every variant. */
const VALID: Array<[string, z.ZodMiniType, Record<string, unknown>]> = [
  ['LoginRequest', LoginRequest, { t: 'login', account: 'user-001', password: 'pw' }],
  ['LoginResponse ok', LoginResponse, { t: 'ok', ticket }],
  ['LoginResponse rejected', LoginResponse, { t: 'rejected', reason: 'bad-credentials' }],
  ['LoginResponse busy', LoginResponse, { t: 'busy', retryAfterMs: 250 }],
  ['SnRequest attach', SnRequest, { t: 'attach', name: 'p-001' }],
  ['SnRequest register', SnRequest, { t: 'register', ticket }],
  ['SnRequest heartbeat', SnRequest, { t: 'heartbeat' }],
  ['SnRequest detach', SnRequest, { t: 'detach' }],
  ['SnResponse attached', SnResponse, { t: 'attached', deadlineMs: 15000 }],
  ['SnResponse busy', SnResponse, { t: 'busy', reason: 'full', retryAfterMs: 0, alternatives: [sn(2), sn(3)] }],
  ['SnResponse not-supernode', SnResponse, { t: 'not-supernode', alternatives: [] }],
  ['SnResponse registered', SnResponse, { t: 'registered' }],
  ['SnResponse rejected', SnResponse, { t: 'rejected', reason: 'invalid-ticket' }],
  ['SnResponse alive', SnResponse, { t: 'alive', load: 0, supernodes: [sn(4)] }],
  ['SnResponse unknown', SnResponse, { t: 'unknown' }],
  ['SnResponse bye', SnResponse, { t: 'bye' }],
  ['SnxMessage exchange', SnxMessage, { t: 'exchange', self: sn(1), known: [sn(2)] }],
  ['SnxMessage not-supernode', SnxMessage, { t: 'not-supernode' }],
  ['Ticket', Ticket, ticket]
]

test('every valid message round-trips through encode and decode', () => {
  for (const [label, schema, msg] of VALID) {
    assert.deepEqual(decodeMessage(encodeMessage(msg), schema), msg, label)
  }
})

test('strict schemas refuse an extra field', () => {
  for (const [label, schema, msg] of VALID) {
    assert.throws(() => decodeMessage(encodeMessage({ ...msg, extra: 1 }), schema), { name: 'InvalidMessageError' }, label)
  }
  // Nested objects are strict too.
  assert.throws(() => decodeMessage(encodeMessage({ t: 'register', ticket: { ...ticket, admin: true } }), SnRequest), { name: 'InvalidMessageError' })
  assert.throws(() => decodeMessage(encodeMessage({ t: 'alive', load: 0, supernodes: [{ ...sn(1), evil: 1 }] }), SnResponse), { name: 'InvalidMessageError' })
})

test('bounds inside messages are enforced', () => {
  const refused: Array<[z.ZodMiniType, unknown]> = [
    [SnResponse, { t: 'alive', load: 1.5, supernodes: [] }],
    [SnResponse, { t: 'alive', load: 0.5, supernodes: Array.from({ length: SN_LIST_MAX + 1 }, (_, i) => sn(i)) }],
    [SnResponse, { t: 'busy', reason: 'queue', retryAfterMs: 0, alternatives: [] }],
    [SnResponse, { t: 'busy', reason: 'full', retryAfterMs: -1, alternatives: [] }],
    [SnResponse, { t: 'attached', deadlineMs: 1.5 }],
    [SnxMessage, { t: 'exchange', self: { ...sn(1), issuedAt: -5 }, known: [] }],
    [LoginRequest, { t: 'login', account: '', password: 'pw' }],
    [LoginResponse, { t: 'rejected', reason: 'because' }],
    [Ticket, { ...ticket, exp: 0 }],
    [Ticket, { ...ticket, sig: '' }]
  ]
  for (const [schema, msg] of refused) {
    assert.throws(() => decodeMessage(encodeMessage(msg), schema), { name: 'InvalidMessageError' }, JSON.stringify(msg).slice(0, 80))
  }
  // SN_LIST_MAX itself is fine.
  const full = { t: 'alive', load: 0.5, supernodes: Array.from({ length: SN_LIST_MAX }, (_, i) => sn(i)) }
  assert.deepEqual(decodeMessage(encodeMessage(full), SnResponse), full)
})
