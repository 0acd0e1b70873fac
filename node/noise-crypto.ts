/**
 * Noise's crypto with the key handling done in Node's own crypto (OpenSSL),
 * passed to `noise({ crypto })` through its documented extension point. The
 * default computes HKDF in JavaScript, and every X25519 operation re-imports both
 * keys from DER. Here the key objects of the keys we generate are kept (our static
 * key, each handshake's ephemeral key), and HKDF is one native call. Hashing and
 * ChaCha20-Poly1305 stay the default's (WebAssembly for small frames, where it is
 * faster). Every handshake of every login and attach goes through this.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

type Bytes = Uint8Array | { subarray: () => Uint8Array }

const PKCS8_PREFIX = Buffer.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Buffer.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])
const EMPTY = new Uint8Array(0)

/** The key object behind each private key this module generated, by identity of its bytes. */
const generated = new WeakMap<Uint8Array, KeyObject>()

function flat (data: Bytes): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray()
}

function privateKeyObject (raw: Uint8Array): KeyObject {
  return generated.get(raw) ?? createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' })
}

function keyPair (privateKey: KeyObject): { publicKey: Uint8Array, privateKey: Uint8Array } {
  const raw = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length))
  generated.set(raw, privateKey)
  const publicKey = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length))
  return { publicKey, privateKey: raw }
}

export const nodeNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,

  getHKDF (ck, ikm) {
    // Noise's HKDF(ck, ikm) with three outputs: RFC 5869 extract-and-expand, salt ck, no info.
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 96))
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  },

  generateX25519KeyPair () {
    return keyPair(generateKeyPairSync('x25519').privateKey)
  },

  generateX25519KeyPairFromSeed (seed) {
    return keyPair(createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }))
  },

  generateX25519SharedKey (privateKey, publicKey) {
    return diffieHellman({
      privateKey: privateKeyObject(flat(privateKey)),
      publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, flat(publicKey)]), format: 'der', type: 'spki' })
    })
  }
}
