/**
 * A full supernode turns a client away as busy, with alternatives; the client
 * attaches at the other supernode it learned of.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { InprocNet, is } from '../helpers/inproc.ts'

const CLIENTS = ['c-1', 'c-2']
const net = await InprocNet.create({ subnet: 2, names: ['login', 'sn-1', 'sn-2', ...CLIENTS], bootstrap: ['sn-1', 'sn-2'] })
after(async () => { await net.stopAll() })

test('a client turned away by a full supernode goes online at another one', async () => {
  await net.startLogin()
  await net.startPeer('sn-1', { env: { PATCHDAY_SLOTS_MAX: '1' } })
  await net.startPeer('sn-2')
  await net.waitFor(is('online', { peer: 'sn-1' }), 10_000, 'sn-1 serving')
  // The clients know only sn-1; sn-2 reaches them through sn-1's busy answer.
  await net.startPeers(CLIENTS, { knows: ['sn-1'] })

  const busy = await net.waitFor(is('attach.failed', { sn: 'sn-1', reason: 'busy' }), 15_000, 'attach.failed busy at sn-1')
  assert.ok(CLIENTS.includes(busy.peer))
  await net.waitFor(is('sn.rejected', { peer: 'sn-1', client: busy.peer, reason: 'full' }), 5_000, 'sn.rejected full at sn-1')

  const online = await net.waitForEach(CLIENTS, 'online', {}, 15_000)
  const sns = online.map(e => e.sn)
  assert.deepEqual([...sns].sort(), ['sn-1', 'sn-2'], net.describe())
  const turnedAway = online.find(e => e.peer === busy.peer)
  assert.equal(turnedAway?.sn, 'sn-2')
})
