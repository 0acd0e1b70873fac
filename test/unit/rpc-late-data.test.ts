/**
 * refuseLateData (node/rpc.ts): after the answer of a one-request stream, the
 * first byte more ends it; bytes that came with the request end it at once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { refuseLateData } from '../../node/rpc.ts'

test('a byte after the answer calls onLate once; a remote that only closes never does', async () => {
  const [a, b] = await streamPair()
  let late = 0
  refuseLateData(b, 0, () => { late++ })
  a.send(new Uint8Array(3))
  a.send(new Uint8Array(3))
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(late, 1)

  const [c, d] = await streamPair()
  let late2 = 0
  refuseLateData(d, 0, () => { late2++ })
  await c.close()
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(late2, 0)
})

test('bytes already buffered with the request count as late at once', () => {
  let late = 0
  refuseLateData({ addEventListener: () => { throw new Error('no listener wanted') } } as never, 7, () => { late++ })
  assert.equal(late, 1)
})
