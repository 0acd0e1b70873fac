/**
 * The fault models as mechanisms, with real peers in one process: each bites
 * past its threshold and not before (orchestrator/scenario/models.ts says which
 * settings each model sets; these tests drive those settings directly).
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { InprocNet, is } from '../helpers/inproc.ts'
import { request } from '../../node/rpc.ts'
import { Stats } from '../../node/stats.ts'
import { PROTOCOL_SN, SnResponse } from '../../node/protocol/messages.ts'

const nets: InprocNet[] = []
after(async () => { for (const n of nets) await n.stopAll() })
const TIMEOUT_MS = 20_000

/** A raw node takes a slot at `sn` by attaching, and never registers (its login "failed"). */
async function abandonAttach (net: InprocNet, raw: string, sn: string): Promise<void> {
  const node = await net.rawNode(raw)
  const conn = await node.dial(multiaddr(net.slot(sn).addr), { signal: AbortSignal.timeout(TIMEOUT_MS) })
  const res = await request(conn, PROTOCOL_SN, { t: 'attach', name: raw }, SnResponse, new Stats(), AbortSignal.timeout(TIMEOUT_MS))
  assert.equal(res.t, 'attached')
  await conn.close()
}

for (const [label, deadlineMs, subnet] of [['slot-reclaim', '3000', 7], ['slot-leak', '0', 8]] as const) {
  test(`${label}: an attach that never registers ${deadlineMs === '0' ? 'keeps its slot for good' : 'gives its slot back after the deadline'}`, async () => {
    const net = await InprocNet.create({ subnet, names: ['login', 'sn-1', 'raw', 'c-1'], bootstrap: ['sn-1'], env: { PATCHDAY_SLOTS_MAX: '1', PATCHDAY_PENDING_SLOT_DEADLINE_MS: deadlineMs } })
    nets.push(net)
    await net.startLogin()
    await net.startPeer('sn-1')
    await net.waitFor(is('online', { peer: 'sn-1' }), TIMEOUT_MS, 'sn-1 serving')
    await abandonAttach(net, 'raw', 'sn-1')
    await net.startPeer('c-1')
    // The only slot is taken: the client is turned away.
    await net.waitFor(is('attach.failed', { peer: 'c-1', reason: 'busy' }), TIMEOUT_MS, 'c-1 turned away')
    if (deadlineMs === '0') {
      // Long past any deadline (50 emulated s at the harness's time scale): still no slot for c-1.
      await new Promise(resolve => setTimeout(resolve, 5000))
      assert.equal(net.find(is('client.left', { peer: 'sn-1', reason: 'pending-expired' })).length, 0)
      assert.equal(net.find(is('online', { peer: 'c-1' })).length, 0, 'the leaked slot is never given back')
      assert.ok(net.find(is('attach.failed', { peer: 'c-1', reason: 'busy' })).length >= 2)
    } else {
      await net.waitFor(is('client.left', { peer: 'sn-1', client: 'raw', reason: 'pending-expired' }), TIMEOUT_MS, 'the pending slot reclaimed')
      await net.waitFor(is('online', { peer: 'c-1', sn: 'sn-1' }), TIMEOUT_MS, 'c-1 online in the freed slot')
    }
  })
}

test('crashing version: a reply slower than the threshold crashes the peer; a fast one does not', async () => {
  const net = await InprocNet.create({ subnet: 9, names: ['login', 'sn-1', 'fast', 'slow'], bootstrap: ['sn-1'] })
  nets.push(net)
  // Logins take 2 emulated s (200 real ms at the harness's time scale).
  await net.startLogin({ PATCHDAY_LOGIN_SERVICE_MS: '2000' })
  await net.startPeer('sn-1')
  await net.waitFor(is('online', { peer: 'sn-1' }), TIMEOUT_MS, 'sn-1 serving')
  // Below the reply time: crashes. Well above it: does not.
  await net.startPeer('slow', { env: { PATCHDAY_CRASH_REPLY_THRESHOLD_MS: '500' } })
  await net.startPeer('fast', { env: { PATCHDAY_CRASH_REPLY_THRESHOLD_MS: '200000' } })
  const crash = await net.waitFor(is('crash', { peer: 'slow' }), TIMEOUT_MS, 'the slow reply crashes "slow"')
  assert.ok(crash.replyMs >= crash.thresholdMs, `replyMs ${crash.replyMs} above the threshold ${crash.thresholdMs}`)
  assert.ok(net.crashed.has('slow'))
  await net.waitFor(is('online', { peer: 'fast' }), TIMEOUT_MS, '"fast" logs in')
  assert.equal(net.find(is('crash', { peer: 'fast' })).length, 0)
})

test('supernode self-protection: requests beyond threshold x budget take the supernode offline; within it, nothing happens', async () => {
  const net = await InprocNet.create({ subnet: 10, names: ['login', 'sn-1', 'raw'], bootstrap: ['sn-1'], env: { PATCHDAY_SN_REQUEST_RATE_PER_S: '5', PATCHDAY_SN_REQUEST_BURST: '1000', PATCHDAY_SN_OVERLOAD_THRESHOLD: '2' } })
  nets.push(net)
  await net.startLogin()
  await net.startPeer('sn-1')
  await net.waitFor(is('online', { peer: 'sn-1' }), TIMEOUT_MS, 'sn-1 serving')
  const node = await net.rawNode('raw')
  const conn = await node.dial(multiaddr(net.slot('sn-1').addr), { signal: AbortSignal.timeout(TIMEOUT_MS) })
  const stats = new Stats()
  const heartbeat = async (): Promise<void> => { await request(conn, PROTOCOL_SN, { t: 'heartbeat' }, SnResponse, stats, AbortSignal.timeout(TIMEOUT_MS)) }
  // Within the threshold (budget 5/s, threshold 2x: 10 per emulated second): one request per
  // 30 real ms at least, about 3 per emulated second, for over 12 emulated s.
  for (let i = 0; i < 40; i++) { await heartbeat(); await new Promise(resolve => setTimeout(resolve, 30)) }
  assert.equal(net.find(is('sn.overload')).length, 0, 'no self-protection below the threshold')
  // Far beyond it: six requests at a time (within the protocol's 8 streams per connection), as fast
  // as the host allows (measured: about 30 per emulated second), for up to 20 emulated s.
  const until = Date.now() + 2000
  const lane = async (): Promise<void> => { while (Date.now() < until && net.find(is('sn.overload')).length === 0) await heartbeat() }
  await Promise.all(Array.from({ length: 6 }, lane))
  const overload = await net.waitFor(is('sn.overload', { peer: 'sn-1' }), TIMEOUT_MS, 'sn-1 protects itself')
  assert.ok(overload.load > overload.threshold)
  await net.waitFor(is('demoted', { peer: 'sn-1', reason: 'overload' }), TIMEOUT_MS, 'sn-1 gives up its role')
})
