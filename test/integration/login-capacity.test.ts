/**
 * The login server's emulated capacity binds: one login in service at a time,
 * no queue, overflow answered busy. Concurrent logins are turned away as busy,
 * retry, and all get through in the end.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { InprocNet, is } from '../helpers/inproc.ts'

const CLIENTS = ['c-1', 'c-2', 'c-3', 'c-4']
const net = await InprocNet.create({
  subnet: 6,
  names: ['login', 'sn-1', ...CLIENTS],
  bootstrap: ['sn-1'],
  // Waiting for the login server must not cost a client its pending slot.
  env: { PATCHDAY_PENDING_SLOT_DEADLINE_MS: '600000' }
})
after(async () => { await net.stopAll() })

test('concurrent logins beyond the login server capacity are busy, then all succeed', async () => {
  await net.startLogin({
    PATCHDAY_LOGIN_CONCURRENCY_MAX: '1',
    PATCHDAY_LOGIN_QUEUE_MAX: '0',
    PATCHDAY_LOGIN_OVERFLOW: 'busy',
    // 500 real ms per login at the harness's time scale: the clients' logins overlap.
    PATCHDAY_LOGIN_SERVICE_MS: '5000'
  })
  await net.startPeer('sn-1')
  await net.waitFor(is('online', { peer: 'sn-1' }), 10_000, 'sn-1 serving')
  await net.startPeers(CLIENTS)

  const busy = await net.waitFor(is('login.failed', { reason: 'busy' }), 15_000, 'a busy login')
  assert.ok(CLIENTS.includes(busy.peer))
  await net.waitFor(is('login.served', { peer: 'login', outcome: 'busy' }), 5_000, 'login.served busy')

  const online = await net.waitForEach(CLIENTS, 'online', { sn: 'sn-1' }, 30_000)
  assert.equal(online.length, CLIENTS.length)
  for (const c of CLIENTS) assert.equal(net.find(is('login.ok', { peer: c })).length, 1, `${c} logged in once`)
  const served = net.find(is('login.served', { peer: 'login' }))
  for (const c of CLIENTS) assert.ok(served.some(e => e.account === c && e.outcome === 'ok'), `login.served ok for ${c}`)
  assert.ok(served.every(e => e.outcome === 'ok' || e.outcome === 'busy'), net.describe(is('login.served')))
})
