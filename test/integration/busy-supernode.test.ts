/**
 * A full supernode turns a client away as busy, with alternatives; the client
 * attaches at the other supernode it learned of. With `attachAvoidMax`, a
 * client turned away everywhere goes through the supernodes in turn.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { InprocNet, is } from '../helpers/inproc.ts'
import { eventually } from '../helpers/hostile-transport.ts'
import { request } from '../../node/rpc.ts'
import { PROTOCOL_SN, SnResponse } from '../../node/protocol/messages.ts'
import { Stats } from '../../node/stats.ts'

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

test('attachAvoidMax: a client turned away as busy by every supernode tries them in turn, one per round', async () => {
  const sns = ['sn-1', 'sn-2', 'sn-3']
  const n = await InprocNet.create({ subnet: 13, names: ['login', ...sns, 'raw', 'c-1'], bootstrap: sns, env: { PATCHDAY_SLOTS_MAX: '1', PATCHDAY_PENDING_SLOT_DEADLINE_MS: '0' } })
  try {
    await n.startLogin()
    await n.startPeers(sns)
    await n.waitForEach(sns, 'online', {}, 15_000)
    // A raw peer takes each supernode's only slot and never registers: every supernode stays full (slot-leak).
    const raw = await n.rawNode('raw')
    for (const sn of sns) {
      const conn = await raw.dial(multiaddr(n.slot(sn).addr), { signal: AbortSignal.timeout(10_000) })
      assert.equal((await request(conn, PROTOCOL_SN, { t: 'attach', name: 'raw' }, SnResponse, new Stats(), AbortSignal.timeout(10_000))).t, 'attached')
      await conn.close()
    }
    // One supernode per round, 0.2 s (emulated 2 s) between rounds.
    await n.startPeer('c-1', { env: { PATCHDAY_ATTACH_CANDIDATES_MAX: '1', PATCHDAY_ATTACH_PARALLEL_MAX: '1', PATCHDAY_ATTACH_AVOID_MAX: '8', PATCHDAY_RETRY_POLICY: 'fixed', PATCHDAY_RETRY_BASE_MS: '2000' } })
    const busy = (): string[] => n.find(is('attach.failed', { peer: 'c-1', reason: 'busy' })).map(e => e.sn)
    await eventually(() => busy().length >= 6, 20_000, 100)
    const tried = busy().slice(0, 6)
    assert.equal(tried.length, 6, `only ${tried.length} busy answers: ${n.describe()}`)
    // Every three rounds in a row meet all three supernodes: the one tried longest ago comes next.
    for (let i = 0; i + 3 <= tried.length; i++) assert.equal(new Set(tried.slice(i, i + 3)).size, 3, `rounds ${i + 1}-${i + 3} tried ${tried.join(', ')}`)
  } finally {
    await n.stopAll()
  }
})
