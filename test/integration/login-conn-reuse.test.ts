/**
 * A client keeps its connection to the login server between login attempts:
 * each attempt is one stream on it, one request that the server sees and
 * queues, and not a TCP connect, a Noise handshake and yamux afresh. (In the
 * stuck state of skype-2007, a retry loop of fresh handshakes saturated the
 * lab host.)
 *
 * The 2007 stuck state for one client: the login server serves one login at a
 * time with no queue, and the client's own first request, abandoned after its
 * login timeout, holds that one place for ever (the server serves abandoned
 * requests); every later attempt is turned away busy. Then the login server
 * restarts (same identity and address): the held connection is gone, the next
 * attempt dials afresh and logs in.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Connection } from '@libp2p/interface'
import { InprocNet, is } from '../helpers/inproc.ts'

const net = await InprocNet.create({ subnet: 12, names: ['login', 'sn-1', 'c-1'], bootstrap: ['sn-1'] })
after(async () => { await net.stopAll() })

/** Busy answers to wait for before the restart: enough attempts that fresh dials would show. */
const BUSY_ATTEMPTS = 5

test('failed login attempts share one connection, each still reaches the server; after a restart the client dials again', async () => {
  const loginPeer = net.slot('login').peerId
  const c1Peer = net.slot('c-1').peerId
  const server = await net.startLogin({
    PATCHDAY_LOGIN_CONCURRENCY_MAX: '1',
    PATCHDAY_LOGIN_QUEUE_MAX: '0',
    PATCHDAY_LOGIN_OVERFLOW: 'busy',
    // 1000 real s: the first request is in service until the server stops.
    PATCHDAY_LOGIN_SERVICE_MS: '10000000'
  })
  let serverConns = 0
  server.node.addEventListener('connection:open', (evt) => { if (evt.detail.remotePeer.toString() === c1Peer) serverConns++ })

  // Ticket first (no supernode needed until the login works); the 2007 retry: a fixed pause (100 real ms).
  const c1 = await net.startPeer('c-1', {
    env: {
      PATCHDAY_SN_ATTACH_TICKET: 'required',
      PATCHDAY_LOGIN_TIMEOUT_MS: '20000',
      PATCHDAY_RETRY_POLICY: 'fixed',
      PATCHDAY_RETRY_BASE_MS: '1000'
    }
  })
  const clientConns: Connection[] = []
  c1.node.addEventListener('connection:open', (evt) => { if (evt.detail.remotePeer.toString() === loginPeer) clientConns.push(evt.detail) })

  // Attempt 1 is taken into service and times out; the ones after it are busy.
  await net.waitFor(is('login.failed', { peer: 'c-1', reason: 'timeout' }), 20_000, 'the first login timing out')
  const servedBusy = (): number => net.find(is('login.served', { peer: 'login', account: 'c-1', outcome: 'busy' })).length
  for (let n = 1; n <= BUSY_ATTEMPTS; n++) {
    await net.waitFor(e => is('login.served', { peer: 'login', account: 'c-1', outcome: 'busy' })(e) && servedBusy() >= n, 20_000, `busy answer ${n} to c-1`)
  }
  const clientFailed = net.find(is('login.failed', { peer: 'c-1' }))
  const clientBusy = clientFailed.filter(e => e.reason === 'busy').length
  const busy = servedBusy()
  assert.ok(clientBusy >= BUSY_ATTEMPTS - 1, net.describe(is('login.failed', { peer: 'c-1' })))
  // Every busy attempt of the client was one the server answered (one may be on its way back).
  assert.ok(busy >= clientBusy && busy <= clientBusy + 1, `server answered ${busy} busy, client saw ${clientBusy}`)
  assert.deepEqual(clientFailed.map(e => e.reason).filter(r => r !== 'busy'), ['timeout'], net.describe(is('login.failed', { peer: 'c-1' })))
  assert.equal(serverConns, 1, `${busy + 1} attempts reached the login server on ${serverConns} connections`)
  assert.equal(clientConns.length, 1, `c-1 opened ${clientConns.length} connections to the login server`)
  assert.equal(clientConns[0]?.status, 'open', 'the connection is held between attempts')
  // Streams do not pile up on it: the timed-out one was reset (its request still in service), the busy ones closed.
  // (At most the attempt in progress: the server takes 4 login streams per connection, yamux 32.)
  const atServer = server.node.getConnections(c1.node.peerId)
  assert.equal(atServer.length, 1)
  assert.ok((atServer[0]?.streams.length ?? 0) <= 1, `${atServer[0]?.streams.length} streams open at the server`)

  // The login server restarts with room: the held connection closes, the next attempt dials afresh and works.
  await net.stop('login')
  const restarted = await net.startLogin()
  await net.startPeer('sn-1')
  await net.waitFor(is('login.ok', { peer: 'c-1' }), 20_000, 'c-1 logging in after the restart')
  await net.waitFor(is('login.served', { peer: 'login', account: 'c-1', outcome: 'ok' }), 5_000, 'the restarted server serving c-1')
  assert.equal(clientConns.length, 2, `c-1 dialled the restarted login server (${clientConns.length} connections in all)`)
  assert.notEqual(clientConns[0]?.status, 'open', 'the first connection went with the old server')
  // Logged in: the client no longer needs the login server and lets its connection go.
  await net.waitFor(is('online', { peer: 'c-1' }), 20_000, 'c-1 online at sn-1')
  const held = c1.node.getConnections(restarted.node.peerId).filter(c => c.status === 'open')
  assert.equal(held.length, 0, 'no connection to the login server after the login')
})
