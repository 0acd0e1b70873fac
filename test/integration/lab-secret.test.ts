/**
 * No provisioning: a login server and peers that have only a lab secret (no
 * accounts file, no credentials.json, no identity.key) log in over
 * `/dns4/localhost/tcp/<port>` addresses without `/p2p/` (the ids are derived
 * from the secret), and a peer with the wrong secret is refused.
 *
 * `localhost` resolves to 127.0.0.1, so the login server and the supernode
 * listen there, on ports the OS says are free; the clients keep their own
 * 127.3.11.x addresses.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { InprocNet, is } from '../helpers/inproc.ts'
import { CREDENTIALS_FILE, IDENTITY_FILE } from '../../node/start.ts'
import { labPeerId } from '../../node/contract/lab-secret.ts'

const SECRET = 'integration-lab-secret-1'
const WRONG = 'integration-lab-secret-2'
const CLIENTS = ['c-1', 'c-2']
const NAMES = ['login', 'sn-1', ...CLIENTS, 'c-wrongpw', 'c-wrongid']
const net = await InprocNet.create({ subnet: 11, names: NAMES, bootstrap: ['sn-1'] })
after(async () => { await net.stopAll() })

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const addr = server.address()
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return addr.port
}

test('a login server and peers with only a lab secret log in over /dns4/ addresses without /p2p/', async () => {
  // Nothing provisioned: the harness's files go.
  for (const n of NAMES) {
    await rm(join(net.slot(n).stateDir, IDENTITY_FILE), { force: true })
    await rm(join(net.slot(n).stateDir, CREDENTIALS_FILE), { force: true })
  }
  const loginPort = await freePort()
  const snPort = await freePort()
  const wiring = {
    PATCHDAY_LAB_SECRET: SECRET,
    PATCHDAY_LOGIN_ADDR: `/dns4/localhost/tcp/${loginPort}`,
    PATCHDAY_BOOTSTRAP_ADDRS: `sn-1=/dns4/localhost/tcp/${snPort}`
  }
  const login = await net.startLogin({ PATCHDAY_ACCOUNTS_FILE: '', PATCHDAY_LAB_SECRET: SECRET, PATCHDAY_LISTEN_IP: '127.0.0.1', PATCHDAY_PORT: String(loginPort) })
  // The supernode listens on every address and announces the one it finds in the lab subnet.
  const sn = await net.startPeer('sn-1', { env: { ...wiring, PATCHDAY_LISTEN_IP: '0.0.0.0', PATCHDAY_PORT: String(snPort), PATCHDAY_ANNOUNCE_IP: 'auto', PATCHDAY_LAB_SUBNET: '127.0.0.0/8' } })
  await net.startPeers(CLIENTS, { env: wiring })

  const online = await net.waitForEach(CLIENTS, 'online', {}, 20_000)
  for (const e of online) assert.equal(e.sn, 'sn-1', `${e.peer} online at ${String(e.sn)}`)
  for (const c of CLIENTS) {
    await net.waitFor(is('login.served', { peer: 'login', account: c, outcome: 'ok' }), 5_000, `login.served ok for ${c}`)
    await net.waitFor(is('login.ok', { peer: c }), 5_000, `login.ok from ${c}`)
  }

  // Identities are the derived ones, and nothing was written in their place.
  const loginId = await labPeerId(SECRET, 'login')
  const snId = await labPeerId(SECRET, 'sn-1')
  assert.equal(login.node.peerId.toString(), loginId)
  assert.equal(sn.node.peerId.toString(), snId)
  for (const c of CLIENTS) assert.equal(net.node(c).node.peerId.toString(), await labPeerId(SECRET, c))
  for (const n of ['login', 'sn-1', ...CLIENTS]) {
    assert.equal(existsSync(join(net.slot(n).stateDir, IDENTITY_FILE)), false, `${n}: ${IDENTITY_FILE}`)
    assert.equal(existsSync(join(net.slot(n).stateDir, CREDENTIALS_FILE)), false, `${n}: ${CREDENTIALS_FILE}`)
  }

  // What the supernode announces (boot event, the entry it hands out) is its announce address, not 0.0.0.0.
  const snAddr = `/ip4/127.0.0.1/tcp/${snPort}/p2p/${snId}`
  assert.equal(sn.addr, snAddr)
  assert.equal((await net.waitFor(is('boot', { peer: 'sn-1' }), 1_000)).addr, snAddr)
  assert.equal(sn.peer?.supernode.info().addr, snAddr)
  assert.equal((await net.waitFor(is('boot', { peer: 'login' }), 1_000)).addr, `/ip4/127.0.0.1/tcp/${loginPort}/p2p/${loginId}`)

  // The wrong secret, with the right ids given: the network is reached, the login server refuses the password.
  await net.startPeer('c-wrongpw', {
    env: {
      PATCHDAY_LAB_SECRET: WRONG,
      PATCHDAY_LOGIN_ADDR: `/dns4/localhost/tcp/${loginPort}/p2p/${loginId}`,
      PATCHDAY_BOOTSTRAP_ADDRS: `sn-1=/dns4/localhost/tcp/${snPort}/p2p/${snId}`
    }
  })
  await net.waitFor(is('login.served', { peer: 'login', account: 'c-wrongpw', outcome: 'rejected', reason: 'bad-password' }), 20_000, 'the wrong password refused')
  await net.waitFor(is('login.failed', { peer: 'c-wrongpw', reason: 'rejected', detail: 'bad-credentials' }), 5_000, 'c-wrongpw told so')

  // The wrong secret, ids derived: the supernode's identity does not match, no connection is made.
  await net.startPeer('c-wrongid', { env: { ...wiring, PATCHDAY_LAB_SECRET: WRONG } })
  await net.waitFor(is('attach.failed', { peer: 'c-wrongid', sn: 'sn-1', reason: 'refused', error: 'EncryptionFailedError' }), 20_000, 'c-wrongid cannot attach')

  assert.deepEqual(net.find(is('login.ok')).map(e => e.peer).sort(), [...CLIENTS, 'sn-1'], net.describe(is('login.ok')))
  assert.equal(net.find(is('online', { peer: 'c-wrongpw' })).length + net.find(is('online', { peer: 'c-wrongid' })).length, 0)
  assert.equal(net.find(is('login.served', { account: 'c-wrongid' })).length, 0)
})
