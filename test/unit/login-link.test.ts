/**
 * The client's login connection (node/login-link.ts) against fake libp2p
 * connections: reused while open, dialled only when there is none, a held
 * connection that cannot open a stream replaced within the same attempt, and
 * the rule for keeping it after an attempt (node/login-reuse.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Libp2p } from 'libp2p'
import type { Connection, Stream } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LoginLink, StaleLoginConnectionError } from '../../node/login-link.ts'
import { keepsLoginLink } from '../../node/login-reuse.ts'
import { Stats } from '../../node/stats.ts'

const PROTOCOL = '/patchday/login/1.0.0'
const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const ADDR = `/ip4/127.0.0.1/tcp/4001/p2p/${peer.toString()}`

/** A connection whose streams are tokens; `failStreams` makes newStream throw as a connection the remote closed does. */
class FakeConn {
  status: 'open' | 'closing' | 'closed' = 'open'
  readonly remotePeer = peer
  readonly streams: string[] = []
  failStreams = false
  aborted: Error | null = null
  closed = false
  readonly id: number
  constructor (id: number) { this.id = id }
  async newStream (protocol: string): Promise<Stream> {
    if (this.failStreams) throw Object.assign(new Error('muxer closed'), { name: 'MuxerClosedError' })
    this.streams.push(protocol)
    return { id: `${this.id}/${this.streams.length}` } as unknown as Stream
  }

  async close (): Promise<void> { this.closed = true; this.status = 'closed' }
  abort (err: Error): void { this.aborted = err; this.status = 'closed' }
}

function fakeNode (): { node: Libp2p, conns: FakeConn[], dials: Array<{ force?: boolean }>, refuse: { on: boolean } } {
  const conns: FakeConn[] = []
  const dials: Array<{ force?: boolean }> = []
  const refuse = { on: false }
  const node = {
    dial: async (_addr: unknown, opts: { force?: boolean }) => {
      dials.push(opts)
      if (refuse.on) throw Object.assign(new Error('refused'), { name: 'DialError' })
      const c = new FakeConn(conns.length + 1)
      conns.push(c)
      return c as unknown as Connection
    }
  }
  return { node: node as unknown as Libp2p, conns, dials, refuse }
}

const signal = (): AbortSignal => new AbortController().signal

test('attempts share the held connection: one dial, one stream per attempt', async () => {
  const f = fakeNode()
  const stats = new Stats()
  const link = new LoginLink(f.node, ADDR, stats)
  for (let i = 0; i < 5; i++) await link.open(PROTOCOL, signal())
  assert.equal(f.conns.length, 1)
  assert.equal(f.conns[0]?.streams.length, 5)
  assert.equal(stats.dialsOk, 1, 'only the real dial is counted')
  assert.equal(link.held as unknown, f.conns[0])
})

test('a connection that is no longer open is dialled anew (forced past libp2p\'s own reuse)', async () => {
  const f = fakeNode()
  const stats = new Stats()
  const link = new LoginLink(f.node, ADDR, stats)
  await link.open(PROTOCOL, signal())
  const first = f.conns[0] as FakeConn
  first.status = 'closed'
  const { conn } = await link.open(PROTOCOL, signal())
  assert.equal(conn as unknown, f.conns[1])
  assert.equal(stats.dialsOk, 2)
  assert.ok(f.dials.every(d => d.force === true))
})

test('a held connection that cannot open a stream is dropped and the same attempt dials once more', async () => {
  const f = fakeNode()
  const stats = new Stats()
  const link = new LoginLink(f.node, ADDR, stats)
  await link.open(PROTOCOL, signal())
  const stale = f.conns[0] as FakeConn
  stale.failStreams = true
  const { conn } = await link.open(PROTOCOL, signal())
  assert.ok(stale.aborted instanceof StaleLoginConnectionError, 'the stale connection is aborted')
  assert.equal(conn as unknown, f.conns[1])
  assert.equal(f.conns[1]?.streams.length, 1)
  assert.equal(stats.dialsOk, 2)
})

test('a fresh connection that cannot open a stream fails the attempt (no second dial)', async () => {
  const f = fakeNode()
  const link = new LoginLink(f.node, ADDR, new Stats())
  const orig = f.node.dial.bind(f.node)
  f.node.dial = (async (...args: Parameters<Libp2p['dial']>) => {
    const c = await orig(...args)
    ;(c as unknown as FakeConn).failStreams = true
    return c
  }) as Libp2p['dial']
  await assert.rejects(link.open(PROTOCOL, signal()), { name: 'MuxerClosedError' })
  assert.equal(f.conns.length, 1)
})

test('an aborted attempt is not redialled, and a failed dial is counted as one', async () => {
  const f = fakeNode()
  const stats = new Stats()
  const link = new LoginLink(f.node, ADDR, stats)
  await link.open(PROTOCOL, signal())
  ;(f.conns[0] as FakeConn).failStreams = true
  await assert.rejects(link.open(PROTOCOL, AbortSignal.abort()), { name: 'MuxerClosedError' })
  assert.equal(f.conns.length, 1, 'no redial under an aborted signal')
  f.refuse.on = true
  ;(f.conns[0] as FakeConn).status = 'closed'
  await assert.rejects(link.open(PROTOCOL, signal()), { name: 'DialError' })
  assert.deepEqual([stats.dialsOk, stats.dialsFailed], [1, 1])
})

test('drop closes the held connection; the next attempt dials', async () => {
  const f = fakeNode()
  const link = new LoginLink(f.node, ADDR, new Stats())
  await link.open(PROTOCOL, signal())
  await link.drop()
  assert.equal(f.conns[0]?.closed, true)
  assert.equal(link.held, null)
  await link.open(PROTOCOL, signal())
  assert.equal(f.conns.length, 2)
  await link.drop()
  await link.drop()
})

test('kept after busy, rejected and a timeout in the server\'s queue; dropped after a login, an error, or a timeout before the stream opened', () => {
  const keep = (answer: 'ok' | 'busy' | 'rejected' | null, timedOut: boolean, streamOpened: boolean): boolean => keepsLoginLink({ answer, timedOut, streamOpened })
  assert.equal(keep('busy', false, true), true)
  assert.equal(keep('rejected', false, true), true)
  assert.equal(keep(null, true, true), true, 'timed out waiting for the answer: the request is queued at the server')
  assert.equal(keep('ok', false, true), false, 'logged in: done with the login server')
  assert.equal(keep(null, false, true), false, 'an error after the stream opened')
  assert.equal(keep(null, false, false), false, 'an error opening the stream or dialling')
  assert.equal(keep(null, true, false), false, 'timed out before the server took the stream: the connection may be dead')
})
