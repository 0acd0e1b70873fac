/**
 * Login tickets: signed by the login server's libp2p identity key (Ed25519),
 * bound to the client's libp2p peer id, expiring. A supernode verifies a ticket
 * with the login server's public key, which its peer id carries.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { InvalidTicketError } from './contract/errors.ts'
import type { Ticket } from './protocol/messages.ts'

const encoder = new TextEncoder()

function payload (account: string, peerId: string, exp: number): Uint8Array {
  // JSON, not a joined string: no account or peer id can make two tickets sign the same bytes.
  return encoder.encode(JSON.stringify(['patchday-ticket/1', account, peerId, exp]))
}

/**
 * The login server's Ed25519 key as a Node key object, imported once: libp2p's
 * key.sign() imports the key again on every call, a measurable share of the
 * login server's CPU per login.
 */
const keyObjects = new WeakMap<PrivateKey, KeyObject>()

function ed25519KeyObject (key: PrivateKey): KeyObject | null {
  if (key.type !== 'Ed25519') return null
  let ko = keyObjects.get(key)
  if (ko === undefined) {
    const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
    ko = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: b64url(key.raw.subarray(0, 32)), x: b64url(key.publicKey.raw) } })
    keyObjects.set(key, ko)
  }
  return ko
}

export async function signTicket (key: PrivateKey, account: string, peerId: string, exp: number): Promise<Ticket> {
  const data = payload(account, peerId, exp)
  const ko = ed25519KeyObject(key)
  const sig = ko !== null ? sign(null, data, ko) : await key.sign(data)
  return { account, peerId, exp, sig: Buffer.from(sig).toString('base64') }
}

/** Throws InvalidTicketError when forged, expired or bound to another peer. */
export async function verifyTicket (issuer: PublicKey, ticket: Ticket, presenter: string, nowMs: number): Promise<void> {
  if (ticket.peerId !== presenter) throw new InvalidTicketError('ticket is bound to another peer')
  if (ticket.exp <= nowMs) throw new InvalidTicketError('ticket expired')
  const sig = Buffer.from(ticket.sig, 'base64')
  let ok: boolean
  try {
    ok = await issuer.verify(payload(ticket.account, ticket.peerId, ticket.exp), sig)
  } catch (err) {
    // verify() throws on a malformed signature (an Ed25519 one that is not 64 bytes): forged input, not a fault here.
    throw new InvalidTicketError(`malformed signature: ${(err as Error).message}`)
  }
  if (!ok) throw new InvalidTicketError('bad signature')
}
