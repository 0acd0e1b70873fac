/**
 * Bad input never takes a process down: malformed frames, unknown accounts,
 * wrong passwords and bad tickets are refused with events, and the login
 * server and the supernode go on serving.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { InprocNet, is } from '../helpers/inproc.ts'
import { LoginResponse, MESSAGE_BYTES_MAX, PROTOCOL_HEARTBEAT, PROTOCOL_LOGIN, PROTOCOL_SN, SnResponse } from '../../node/protocol/messages.ts'
import { framed, readMessage, writeMessage } from '../../node/protocol/codec.ts'
import { request } from '../../node/rpc.ts'
import { signTicket } from '../../node/tickets.ts'
import { Stats } from '../../node/stats.ts'

/** Account names that are not accounts, including keys every plain object inherits. */
const NOT_ACCOUNTS = ['nobody', 'constructor', '__proto__', 'toString']
const net = await InprocNet.create({ subnet: 5, names: ['login', 'sn-1', 'raw', 'c-ok', 'c-badpw', ...NOT_ACCOUNTS.map(a => `c-${a.replace(/_/g, '')}`)], bootstrap: ['sn-1'] })
after(async () => { await net.stopAll() })

let raw: Libp2p
const stats = new Stats()
const REQUEST_TIMEOUT_MS = 10_000

before(async () => {
  await net.startLogin()
  await net.startPeer('sn-1')
  await net.waitFor(is('online', { peer: 'sn-1' }), 10_000, 'sn-1 serving')
  raw = await net.rawNode('raw')
})

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

function frame (payload: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(payload.byteLength), ...payload])
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The malformed inputs, each with the named error the server must log. */
const BAD_FRAMES: Array<{ name: string, bytes: Uint8Array, error: string }> = [
  { name: 'not JSON', bytes: frame(text('this is {not json')), error: 'InvalidMessageError' },
  { name: 'JSON of the wrong shape', bytes: frame(text(JSON.stringify({ t: 'launch', missiles: 3 }))), error: 'InvalidMessageError' },
  // Only the length prefix (and a little data) is sent: the server must refuse on the prefix alone.
  { name: 'length prefix over the limit', bytes: Uint8Array.from([...varint(MESSAGE_BYTES_MAX + 1), 0x7b, 0x7d]), error: 'MessageTooLargeError' },
  { name: 'truncated frame', bytes: Uint8Array.from([...varint(100), ...text('{"t":"heartbeat"')]), error: 'InvalidMessageError' }
]

async function dial (name: string): Promise<Connection> {
  return await raw.dial(multiaddr(net.slot(name).addr), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
}

/** Open a stream, send bytes as they are, half-close. The server resets the stream; that is expected. */
async function sendRaw (conn: Connection, protocol: string, bytes: Uint8Array): Promise<void> {
  const stream = await conn.newStream(protocol, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  stream.send(bytes)
  await stream.close({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).catch((err: unknown) => { stream.abort(err as Error) })
}

for (const [server, protocol] of [['sn-1', PROTOCOL_SN], ['login', PROTOCOL_LOGIN]] as const) {
  test(`malformed frames on ${protocol} yield msg.invalid and ${server} goes on`, async () => {
    const conn = await dial(server)
    const from = raw.peerId.toString()
    for (const bad of BAD_FRAMES) {
      const mark = net.mark()
      await sendRaw(conn, protocol, bad.bytes)
      const e = await net.waitFor(net.since(mark, is('msg.invalid', { peer: server, protocol, from })), 10_000, `msg.invalid for ${bad.name} at ${server}`)
      assert.equal(e.error, bad.error, bad.name)
    }
    // Still serving, on the same connection.
    if (server === 'sn-1') {
      const res = await request(conn, PROTOCOL_SN, { t: 'attach', name: 'raw' }, SnResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
      assert.equal(res.t, 'attached')
      await request(conn, PROTOCOL_SN, { t: 'detach' }, SnResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
    } else {
      const res = await request(conn, PROTOCOL_LOGIN, { t: 'login', account: 'raw', password: InprocNet.password('raw') }, LoginResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
      assert.equal(res.t, 'ok')
    }
    await conn.close()
  })
}

test('the heartbeat stream: a close between frames ends it quietly, a malformed frame is msg.invalid', async () => {
  const conn = await dial('sn-1')
  const invalid = is('msg.invalid', { peer: 'sn-1', protocol: PROTOCOL_HEARTBEAT, from: raw.peerId.toString() })
  const mark = net.mark()
  // One heartbeat, its answer, and a clean close: how every client session ends.
  const stream = await conn.newStream(PROTOCOL_HEARTBEAT, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  const lp = framed(stream)
  await writeMessage(lp, { t: 'heartbeat', seq: 1 })
  const res = await readMessage(lp, SnResponse, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  assert.equal(res.t, 'unknown') // raw holds no slot
  await stream.close({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  // Then a malformed frame on a new heartbeat stream: that one is bad input.
  await sendRaw(conn, PROTOCOL_HEARTBEAT, frame(text('this is {not json')))
  const e = await net.waitFor(net.since(mark, invalid), 10_000, 'msg.invalid for the malformed heartbeat')
  assert.equal(e.error, 'InvalidMessageError')
  // Exactly one since the mark: the clean close logged none.
  assert.equal(net.find(net.since(mark, invalid)).length, 1)
  await conn.close()
})

test('a normal client still logs in after the malformed input', async () => {
  await net.startPeer('c-ok')
  const e = await net.waitFor(is('online', { peer: 'c-ok' }), 110_000, 'online from c-ok')
  assert.equal(e.sn, 'sn-1')
})

test('a wrong password is rejected', async () => {
  await net.startPeer('c-badpw', { credentials: { account: 'c-badpw', password: 'not-the-password' } })
  await net.waitFor(is('login.failed', { peer: 'c-badpw', reason: 'rejected', detail: 'bad-credentials' }), 110_000, 'login.failed bad-password')
  await net.waitFor(is('login.served', { peer: 'login', account: 'c-badpw', outcome: 'rejected', reason: 'bad-password' }), 10_000, 'login.served rejected bad-password')
  await net.stop('c-badpw')
  assert.equal(net.find(is('online', { peer: 'c-badpw' })).length, 0)
})

for (const account of NOT_ACCOUNTS) {
  test(`an unknown account (${account}) is rejected`, async () => {
    const peer = `c-${account.replace(/_/g, '')}`
    await net.startPeer(peer, { credentials: { account, password: 'whatever' } })
    await net.waitFor(is('login.failed', { peer, reason: 'rejected', detail: 'bad-credentials' }), 110_000, `login.failed unknown-account from ${peer}`)
    await net.waitFor(is('login.served', { peer: 'login', account, outcome: 'rejected', reason: 'unknown-account' }), 10_000, `login.served rejected unknown-account for ${account}`)
    await net.stop(peer)
    assert.equal(net.find(is('online', { peer })).length, 0)
  })
}

test('forged, expired and misbound tickets are refused at the supernode', async () => {
  const conn = await dial('sn-1')
  const rawId = raw.peerId.toString()
  const loginKey = net.slot('login').key
  const attach = await request(conn, PROTOCOL_SN, { t: 'attach', name: 'raw' }, SnResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
  assert.equal(attach.t, 'attached')
  const inAMinute = Date.now() + 60_000
  const tickets = [
    { name: 'forged', ticket: await signTicket(await generateKeyPair('Ed25519'), 'raw', rawId, inAMinute) },
    { name: 'expired', ticket: await signTicket(loginKey, 'raw', rawId, Date.now() - 1000) },
    { name: 'bound to another peer', ticket: await signTicket(loginKey, 'raw', net.slot('c-ok').peerId, inAMinute) },
    { name: 'truncated signature', ticket: { ...await signTicket(loginKey, 'raw', rawId, inAMinute), sig: 'AAAA' } }
  ]
  for (const { name, ticket } of tickets) {
    const mark = net.mark()
    const res = await request(conn, PROTOCOL_SN, { t: 'register', ticket }, SnResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
    assert.deepEqual(res, { t: 'rejected', reason: 'invalid-ticket' }, name)
    await net.waitFor(net.since(mark, is('ticket.rejected', { peer: 'sn-1', client: 'raw' })), 10_000, `ticket.rejected for the ${name} ticket`)
  }
  assert.equal(net.find(is('client.joined', { peer: 'sn-1', client: 'raw' })).length, 0)
  // The control: a ticket the login server really issued is accepted on the same slot.
  const good = await request(conn, PROTOCOL_SN, { t: 'register', ticket: await signTicket(loginKey, 'raw', rawId, inAMinute) }, SnResponse, stats, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
  assert.deepEqual(good, { t: 'registered' })
  await net.waitFor(is('client.joined', { peer: 'sn-1', client: 'raw' }), 10_000, 'client.joined raw')
  await conn.close()
})
