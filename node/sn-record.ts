/**
 * Signed supernode records: what a supernode says about itself (name, address,
 * load, when it said so and until when it holds), signed with its own libp2p
 * Ed25519 key. Anyone may relay a record; nobody can forge one for a peer id
 * whose key it does not hold, so a list entry naming a real supernode is that
 * supernode's own word, and an entry invented by a hostile peer can only point
 * at that peer's own identities.
 *
 * The key comes from the peer id in `addr` (an Ed25519 peer id carries its
 * public key). Verification uses Node's crypto with a bounded cache of key
 * objects and of signatures already checked: a record relayed by many peers is
 * verified once.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { SnInfo } from './protocol/messages.ts'
import { peerIdOf } from './contract/addrs.ts'

export class InvalidRecordError extends Error {
  override name = 'InvalidRecordError'
}

/** Key objects and verified signatures kept at most (a record is about 300 bytes; a key object less). */
export const RECORD_CACHE_MAX = 4096

const encoder = new TextEncoder()

function payload (r: Omit<SnInfo, 'sig'>): Uint8Array {
  // JSON of an array, not a joined string: no name or address can make two records sign the same bytes.
  return encoder.encode(JSON.stringify(['patchday-sn/1', r.name, r.addr, r.load, r.issuedAt, r.exp]))
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** Bounded map: past the limit the oldest entry goes (insertion order). */
function remember<V> (m: Map<string, V>, k: string, v: V): void {
  if (m.size >= RECORD_CACHE_MAX) m.delete(m.keys().next().value as string)
  m.set(k, v)
}

const privateKeys = new WeakMap<PrivateKey, KeyObject>()
const publicKeys = new Map<string, KeyObject>()
/** Signatures already verified, with the record bytes they cover. */
const verified = new Map<string, string>()

export function signRecord (key: PrivateKey, r: Omit<SnInfo, 'sig'>): SnInfo {
  if (key.type !== 'Ed25519') throw new InvalidRecordError(`cannot sign with a ${key.type} key`)
  let ko = privateKeys.get(key)
  if (ko === undefined) {
    ko = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: b64url(key.raw.subarray(0, 32)), x: b64url(key.publicKey.raw) } })
    privateKeys.set(key, ko)
  }
  return { ...r, sig: sign(null, payload(r), ko).toString('base64') }
}

function publicKeyOf (peerId: string): KeyObject {
  let ko = publicKeys.get(peerId)
  if (ko !== undefined) return ko
  let raw: Uint8Array | undefined
  try {
    const id = peerIdFromString(peerId)
    if (id.type !== 'Ed25519') throw new InvalidRecordError(`a ${id.type} peer id`)
    raw = id.publicKey.raw
  } catch (err) {
    if (err instanceof InvalidRecordError) throw err
    throw new InvalidRecordError(`bad peer id: ${(err as Error).message}`)
  }
  ko = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) } })
  remember(publicKeys, peerId, ko)
  return ko
}

/**
 * Throws InvalidRecordError unless `r` is signed by the peer its address names,
 * is valid at `nowMs` (emulated), was not issued after `nowMs + skewMs`, and
 * claims no longer a life than `lifeMaxMs`. Returns the signer's peer id.
 */
export function verifyRecord (r: SnInfo, nowMs: number, lifeMaxMs: number, skewMs: number): string {
  const peerId = peerIdOf(r.addr)
  if (peerId === undefined) throw new InvalidRecordError('address without a peer id')
  if (r.exp <= nowMs) throw new InvalidRecordError('expired')
  if (r.issuedAt > nowMs + skewMs) throw new InvalidRecordError('issued in the future')
  if (r.exp - r.issuedAt > lifeMaxMs) throw new InvalidRecordError('claims too long a life')
  const data = payload(r)
  const text = Buffer.from(data).toString('latin1')
  if (verified.get(r.sig) === text) return peerId
  let sig: Buffer
  try {
    sig = Buffer.from(r.sig, 'base64')
  } catch (err) {
    throw new InvalidRecordError(`bad signature encoding: ${(err as Error).message}`)
  }
  if (sig.byteLength !== 64 || !verify(null, data, publicKeyOf(peerId), sig)) throw new InvalidRecordError('bad signature')
  remember(verified, r.sig, text)
  return peerId
}
