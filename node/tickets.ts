/**
 * Login tickets: signed by the login server's libp2p identity key (Ed25519),
 * bound to the client's libp2p peer id, expiring. A supernode verifies a ticket
 * with the login server's public key, which its peer id carries.
 */
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { InvalidTicketError } from './contract/errors.ts'
import type { Ticket } from './protocol/messages.ts'

const encoder = new TextEncoder()

function payload (account: string, peerId: string, exp: number): Uint8Array {
  // JSON, not a joined string: no account or peer id can make two tickets sign the same bytes.
  return encoder.encode(JSON.stringify(['patchday-ticket/1', account, peerId, exp]))
}

export async function signTicket (key: PrivateKey, account: string, peerId: string, exp: number): Promise<Ticket> {
  const sig = await key.sign(payload(account, peerId, exp))
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
