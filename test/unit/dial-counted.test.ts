/**
 * `dialCounted` (node/rpc.ts), the one way clients dial: the peer an address
 * names counts as contacted whether or not the dial works (the 2007 "peers
 * contacted" figure counted probes to dead hosts too), and each dial counts as
 * ok or failed in the peer's `stats` line.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { dialCounted } from '../../node/rpc.ts'
import { Stats } from '../../node/stats.ts'

const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

const refusing = { dial: async (): Promise<Connection> => { throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'DialError' }) } }
const accepting = { dial: async (): Promise<Connection> => ({ status: 'open' }) as unknown as Connection }

test('a failed dial still contacts the peer the address names, and counts as failed', async () => {
  const stats = new Stats()
  await assert.rejects(dialCounted(refusing, multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${a}`), stats, { signal: AbortSignal.timeout(1000) }), { name: 'DialError' })
  await assert.rejects(dialCounted(refusing, multiaddr(`/ip4/127.0.0.2/tcp/4001/p2p/${b}`), stats, { signal: AbortSignal.timeout(1000) }), { name: 'DialError' })
  const s = stats.snapshot()
  assert.equal(s.peersContactedInterval, 2)
  assert.equal(s.dialsFailed, 2)
  assert.equal(s.dialsOk, 0)
})

test('a dial that works counts as ok; the same peer twice is one contact; an address without a peer id contacts no one', async () => {
  const stats = new Stats()
  await dialCounted(accepting, multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${a}`), stats, { signal: AbortSignal.timeout(1000) })
  await dialCounted(accepting, multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${a}`), stats, { signal: AbortSignal.timeout(1000) })
  await dialCounted(accepting, multiaddr('/ip4/127.0.0.3/tcp/4001'), stats, { signal: AbortSignal.timeout(1000) })
  const s = stats.snapshot()
  assert.equal(s.peersContactedInterval, 1)
  assert.equal(s.dialsOk, 3)
  assert.equal(s.dialsFailed, 0)
})
