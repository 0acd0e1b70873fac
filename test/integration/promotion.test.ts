/**
 * Demand-driven promotion: one bootstrap supernode with two slots and five
 * eligible clients. Clients turned away as busy promote themselves, the others
 * learn of the new supernodes and everyone gets online.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { InprocNet, is } from '../helpers/inproc.ts'

const CLIENTS = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5']
/** Started once the others are online; not eligible, so it cannot promote itself. */
const LATE = 'c-late'
const net = await InprocNet.create({
  subnet: 3,
  names: ['login', 'sn-1', ...CLIENTS, LATE],
  bootstrap: ['sn-1'],
  env: {
    PATCHDAY_CAPACITY_CLASS: '3',
    PATCHDAY_REACHABLE: 'true',
    PATCHDAY_ELECT_MIN_UPTIME_MS: '0',
    PATCHDAY_ELECT_PROMOTE_PROB: '1',
    // One known supernode is enough: promotion must come from busy answers, not from a short list.
    PATCHDAY_ELECT_MIN_SUPERNODES: '1',
    PATCHDAY_ELECT_INTERVAL_MS: '2000'
  }
})
after(async () => { await net.stopAll() })

test('clients turned away by a full supernode promote and everyone gets online', async () => {
  await net.startLogin()
  await net.startPeer('sn-1', { env: { PATCHDAY_SLOTS_MAX: '2' } })
  await net.waitFor(is('online', { peer: 'sn-1' }), 10_000, 'sn-1 serving')
  await net.startPeers(CLIENTS)

  await net.waitFor(is('attach.failed', { sn: 'sn-1', reason: 'busy' }), 15_000, 'a busy answer from sn-1')
  const promoted = await net.waitFor(is('promoted'), 15_000, 'a promotion')
  assert.ok(CLIENTS.includes(promoted.peer))
  assert.match(promoted.reason, /^shortage:/)

  await net.waitForEach(CLIENTS, 'online', {}, 30_000)

  // A late client that knows only sn-1 and cannot promote: when sn-1 is full (as it usually
  // still is), only its busy answer can name the promoted supernodes, which it learned by exchange.
  await net.startPeer(LATE, { env: { PATCHDAY_CAPACITY_CLASS: '1' } })
  const late = await net.waitFor(is('online', { peer: LATE }), 15_000, `online from ${LATE}`)
  const promotedNames = net.find(is('promoted')).map(e => e.peer)
  assert.ok(late.sn === 'sn-1' || (late.sn !== null && promotedNames.includes(late.sn)), `${LATE} online at ${String(late.sn)}, promoted: ${promotedNames.join(',')}`)
  assert.equal(net.find(is('promoted', { peer: LATE })).length, 0)
})
