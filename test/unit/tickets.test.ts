import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { signTicket, verifyTicket } from '../../node/tickets.ts'
import { Ticket } from '../../node/protocol/messages.ts'

const issuer = await generateKeyPair('Ed25519')
const other = await generateKeyPair('Ed25519')
const PEER = '12D3KooWClientA'
const NOW = 1_700_000_000_000
const EXP = NOW + 3_600_000

const invalid = { name: 'InvalidTicketError' }

test('a signed ticket verifies for its peer before it expires', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  assert.equal(t.account, 'user-001')
  assert.equal(t.peerId, PEER)
  assert.equal(t.exp, EXP)
  // It is a valid wire ticket.
  assert.deepEqual(Ticket.parse(t), t)
  await verifyTicket(issuer.publicKey, t, PEER, NOW)
  await verifyTicket(issuer.publicKey, t, PEER, EXP - 1)
})

test('a ticket whose fields were changed after signing is refused', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  await assert.rejects(verifyTicket(issuer.publicKey, { ...t, account: 'admin' }, PEER, NOW), invalid)
  await assert.rejects(verifyTicket(issuer.publicKey, { ...t, exp: EXP + 1 }, PEER, NOW), invalid)
  await assert.rejects(verifyTicket(issuer.publicKey, { ...t, peerId: '12D3KooWClientB' }, '12D3KooWClientB', NOW), invalid)
})

test('moving the account/peer boundary does not keep the signature valid', async () => {
  const u = await signTicket(issuer, 'a|b', 'c', EXP)
  await assert.rejects(verifyTicket(issuer.publicKey, { ...u, account: 'a', peerId: 'b|c' }, 'b|c', NOW), invalid)
})

test('a ticket signed by another key is refused', async () => {
  const forged = await signTicket(other, 'user-001', PEER, EXP)
  await assert.rejects(verifyTicket(issuer.publicKey, forged, PEER, NOW), invalid)
})

test('a well-formed but wrong signature is refused', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  const zeros = Buffer.alloc(64).toString('base64')
  await assert.rejects(verifyTicket(issuer.publicKey, { ...t, sig: zeros }, PEER, NOW), invalid)
  const flipped = Buffer.from(t.sig, 'base64')
  flipped[0] = (flipped[0] as number) ^ 1
  await assert.rejects(verifyTicket(issuer.publicKey, { ...t, sig: flipped.toString('base64') }, PEER, NOW), invalid)
})

test('an expired ticket is refused, expiry included', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  await assert.rejects(verifyTicket(issuer.publicKey, t, PEER, EXP), invalid)
  await assert.rejects(verifyTicket(issuer.publicKey, t, PEER, EXP + 1), invalid)
})

test('a ticket bound to another peer is refused', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  await assert.rejects(verifyTicket(issuer.publicKey, t, '12D3KooWClientB', NOW), invalid)
})

test('a ticket with a malformed signature (wrong length, not base64) is refused as invalid', async () => {
  const t = await signTicket(issuer, 'user-001', PEER, EXP)
  for (const sig of ['AAAA', '!!!', t.sig.slice(0, 20), Buffer.alloc(65).toString('base64')]) {
    // Each of these passes the wire schema (1..256 characters).
    assert.equal(Ticket.safeParse({ ...t, sig }).success, true)
    await assert.rejects(verifyTicket(issuer.publicKey, { ...t, sig }, PEER, NOW), invalid, sig)
  }
})

test('the cached-key signature is the one libp2p would make (Ed25519 is deterministic)', async () => {
  const t = await signTicket(issuer, 'acct-7', PEER, EXP)
  const payload = new TextEncoder().encode(JSON.stringify(['patchday-ticket/1', 'acct-7', PEER, EXP]))
  assert.equal(t.sig, Buffer.from(await issuer.sign(payload)).toString('base64'))
  // And the second signature with the same (now cached) key object is the same.
  assert.deepEqual(await signTicket(issuer, 'acct-7', PEER, EXP), t)
})
