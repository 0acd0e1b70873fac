/**
 * The lab secret: one string from which every lab-only secret of a run is
 * derived deterministically, so that containers (which cannot see the run
 * folder) need no provisioning step. A replica of a scaled service knows its
 * own name and the secret, and from them its identity key and its password;
 * the login server checks a password against the same derivation, and every
 * peer knows the login server's and the bootstrap supernodes' peer ids.
 *
 * FOR A LAB ONLY. Whoever knows the secret can derive every identity and every
 * password of the run: they can impersonate any peer, the login server
 * included. Never use it for anything outside an experiment.
 *
 * Shared by the peer and the orchestrator: only node:crypto and @libp2p/crypto.
 */
import { createHmac } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'

/** What a derived secret is for: the same name gets unrelated secrets per purpose. */
export type LabPurpose = 'identity' | 'password'

/** HMAC-SHA256(secret, `${purpose}:${name}`): 32 bytes. */
export function labSeed (secret: string, purpose: LabPurpose, name: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(`${purpose}:${name}`).digest())
}

/** The Ed25519 libp2p identity of `name`. */
export async function labPrivateKey (secret: string, name: string): Promise<Ed25519PrivateKey> {
  return await generateKeyPairFromSeed('Ed25519', labSeed(secret, 'identity', name))
}

/** The peer id (string form) of `name`'s identity. */
export async function labPeerId (secret: string, name: string): Promise<string> {
  // An Ed25519 public key's string form is its peer id (identity multihash, base58btc).
  return (await labPrivateKey(secret, name)).publicKey.toString()
}

/** The password of account `name` (base64url, 43 characters). */
export function labPassword (secret: string, name: string): string {
  return Buffer.from(labSeed(secret, 'password', name)).toString('base64url')
}
