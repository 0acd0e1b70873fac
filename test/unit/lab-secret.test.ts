import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { labPassword, labPeerId, labPrivateKey, labSeed } from '../../node/contract/lab-secret.ts'

const SECRET = 'lab-secret-0123456789'
const OTHER = 'lab-secret-9876543210'

test('labSeed is HMAC-SHA256(secret, purpose:name), 32 bytes', () => {
  const seed = labSeed(SECRET, 'identity', 'p-001')
  assert.equal(seed.length, 32)
  assert.deepEqual(Buffer.from(seed), createHmac('sha256', SECRET).update('identity:p-001').digest())
  assert.notDeepEqual(seed, labSeed(SECRET, 'password', 'p-001'))
})

test('the same secret and name give the same key, peer id and password', async () => {
  const a = await labPrivateKey(SECRET, 'p-001')
  const b = await labPrivateKey(SECRET, 'p-001')
  assert.equal(a.type, 'Ed25519')
  assert.deepEqual(a.raw, b.raw)
  assert.equal(await labPeerId(SECRET, 'p-001'), await labPeerId(SECRET, 'p-001'))
  assert.equal(labPassword(SECRET, 'p-001'), labPassword(SECRET, 'p-001'))
})

test('labPeerId is the peer id of labPrivateKey', async () => {
  for (const name of ['login', 'sn-1', 'p-001']) {
    const id = await labPeerId(SECRET, name)
    assert.equal(id, peerIdFromPrivateKey(await labPrivateKey(SECRET, name)).toString())
    assert.equal(peerIdFromString(id).type, 'Ed25519')
  }
})

test('keys, peer ids and passwords differ per name and per secret', async () => {
  const names = ['login', 'p-001', 'p-002', 'p-0010', 'P-001']
  const ids = new Set<string>()
  const pws = new Set<string>()
  for (const secret of [SECRET, OTHER]) {
    for (const name of names) {
      ids.add(await labPeerId(secret, name))
      pws.add(labPassword(secret, name))
    }
  }
  assert.equal(ids.size, names.length * 2)
  assert.equal(pws.size, names.length * 2)
})

test('a password is base64url of 32 bytes and not the identity seed', () => {
  const pw = labPassword(SECRET, 'p-001')
  assert.match(pw, /^[A-Za-z0-9_-]{43}$/)
  assert.deepEqual(Buffer.from(pw, 'base64url'), Buffer.from(labSeed(SECRET, 'password', 'p-001')))
  assert.notEqual(pw, Buffer.from(labSeed(SECRET, 'identity', 'p-001')).toString('base64url'))
})
