import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { pureJsCrypto } from '@chainsafe/libp2p-noise'
import { Uint8ArrayList } from 'uint8arraylist'
import { nodeNoiseCrypto } from '../../node/noise-crypto.ts'

// The reference is noise's own pure-JavaScript implementation (@noble).

test('HKDF gives the same three keys as the reference', () => {
  for (let i = 0; i < 20; i++) {
    const ck = randomBytes(32)
    const ikm = randomBytes(i === 0 ? 0 : 32)
    assert.deepEqual(nodeNoiseCrypto.getHKDF(ck, ikm).map(k => Buffer.from(k)), pureJsCrypto.getHKDF(ck, ikm).map(k => Buffer.from(k)))
  }
})

test('a key pair from a seed is the reference one', () => {
  const seed = randomBytes(32)
  const a = nodeNoiseCrypto.generateX25519KeyPairFromSeed(seed)
  const b = pureJsCrypto.generateX25519KeyPairFromSeed(seed)
  assert.deepEqual(Buffer.from(a.publicKey), Buffer.from(b.publicKey))
  assert.deepEqual(Buffer.from(a.privateKey), Buffer.from(b.privateKey))
})

test('both sides of a Diffie-Hellman agree, with the reference, for generated and imported keys', () => {
  for (let i = 0; i < 10; i++) {
    const ours = nodeNoiseCrypto.generateX25519KeyPair() // key object cached
    const theirs = pureJsCrypto.generateX25519KeyPair()
    const shared = Buffer.from(nodeNoiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey))
    assert.deepEqual(shared, Buffer.from(pureJsCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)))
    // A copy of the private key bytes is not in the cache: imported from DER, same result.
    assert.deepEqual(Buffer.from(nodeNoiseCrypto.generateX25519SharedKey(Uint8Array.from(ours.privateKey), theirs.publicKey)), shared)
    // Keys handed over as a list of chunks.
    const split = new Uint8ArrayList(theirs.publicKey.subarray(0, 7), theirs.publicKey.subarray(7))
    assert.deepEqual(Buffer.from(nodeNoiseCrypto.generateX25519SharedKey(ours.privateKey, split)), shared)
  }
})

test('a generated public key belongs to its private key', () => {
  const kp = nodeNoiseCrypto.generateX25519KeyPair()
  assert.equal(kp.publicKey.byteLength, 32)
  assert.equal(kp.privateKey.byteLength, 32)
  assert.deepEqual(Buffer.from(pureJsCrypto.generateX25519KeyPairFromSeed(kp.privateKey).publicKey), Buffer.from(kp.publicKey))
})
