/**
 * A supernode stops: its clients notice (connection closed, or missed
 * heartbeats), go offline and get online again at the other supernode.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { InprocNet, is } from '../helpers/inproc.ts'
import type { PeerEvent } from '../../node/contract/events.ts'

const CLIENTS = ['c-1', 'c-2', 'c-3']
const net = await InprocNet.create({ subnet: 4, names: ['login', 'sn-1', 'sn-2', ...CLIENTS], bootstrap: ['sn-1', 'sn-2'] })
after(async () => { await net.stopAll() })

test('clients of a stopped supernode re-attach at the other one', async () => {
  await net.startLogin()
  await net.startPeer('sn-1')
  await net.waitFor(is('online', { peer: 'sn-1' }), 10_000, 'sn-1 serving')
  // sn-2 starts only once every client is online, so that all of them are at sn-1.
  await net.startPeers(CLIENTS)
  const first = await net.waitForEach(CLIENTS, 'online', {}, 15_000)
  for (const e of first) assert.equal(e.sn, 'sn-1')
  await net.startPeer('sn-2')
  await net.waitFor(is('online', { peer: 'sn-2' }), 10_000, 'sn-2 serving')

  const stoppedAt = net.mark()
  await net.stop('sn-1')

  const offline = await net.waitForEach(CLIENTS, 'offline', { sn: 'sn-1' }, 15_000)
  for (const e of offline) assert.ok(e.reason === 'supernode-gone' || e.reason === 'heartbeat-lost', `${e.peer} offline: ${e.reason}`)
  for (const c of CLIENTS) {
    const again = await net.waitFor(net.since(stoppedAt, is('online', { peer: c })), 20_000, `online again from ${c}`)
    assert.equal(again.sn, 'sn-2')
    assert.ok(net.events.indexOf(again) > net.events.indexOf(offline.find(o => o.peer === c) as PeerEvent))
  }
  await net.waitFor(is('client.left', { peer: 'sn-1', reason: 'closed' }), 1000, 'client.left at sn-1')
})
