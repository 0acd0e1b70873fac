/** A login server, one bootstrap supernode and three clients: everyone gets online at the supernode. */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { InprocNet, is } from '../helpers/inproc.ts'

const CLIENTS = ['c-1', 'c-2', 'c-3']
const net = await InprocNet.create({ subnet: 1, names: ['login', 'sn-1', ...CLIENTS], bootstrap: ['sn-1'] })
after(async () => { await net.stopAll() })

test('three clients log in and go online at the bootstrap supernode', async () => {
  await net.startLogin()
  await net.startPeer('sn-1')
  await net.startPeers(CLIENTS)

  const online = await net.waitForEach(CLIENTS, 'online', {}, 15_000)
  for (const e of online) assert.equal(e.sn, 'sn-1', `${e.peer} online at ${String(e.sn)}`)

  for (const c of CLIENTS) {
    await net.waitFor(is('client.joined', { peer: 'sn-1', client: c }), 5_000, `client.joined ${c} at sn-1`)
    await net.waitFor(is('login.served', { peer: 'login', account: c, outcome: 'ok' }), 5_000, `login.served ok for ${c}`)
    await net.waitFor(is('login.ok', { peer: c }), 5_000, `login.ok from ${c}`)
  }
  const joined = net.find(is('client.joined', { peer: 'sn-1' }))
  assert.equal(joined.length, CLIENTS.length, net.describe(is('client.joined')))
  assert.deepEqual(joined.map(e => e.slotsMax), CLIENTS.map(() => 50))
})
