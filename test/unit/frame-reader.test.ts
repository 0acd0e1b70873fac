/**
 * The frame reader of node/protocol/codec.ts over an in-memory stream pair:
 * frames round-trip; an endless length prefix, an oversized frame, too many
 * unread bytes and a deadline each end the read with a named error, fast.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { bufferBytesMax, framed } from '../../node/protocol/codec.ts'
import { prefixBytesMax, varintPrefix } from '../../node/protocol/varint.ts'
import { MESSAGE_BYTES_MAX } from '../../node/protocol/messages.ts'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

test('varintPrefix encodes unsigned LEB128; prefixBytesMax is the prefix of the limit', () => {
  assert.deepEqual(varintPrefix(0), [0])
  assert.deepEqual(varintPrefix(127), [127])
  assert.deepEqual(varintPrefix(128), [0x80, 1])
  assert.deepEqual(varintPrefix(16_384), [0x80, 0x80, 1])
  assert.equal(prefixBytesMax(MESSAGE_BYTES_MAX), 3)
  assert.equal(prefixBytesMax(127), 1)
  assert.throws(() => varintPrefix(-1), RangeError)
})

test('frames written by framed() are read back whole, empty ones included', async () => {
  const [a, b] = await streamPair()
  const wa = framed(a)
  const rb = framed(b)
  for (const s of ['{"t":"heartbeat"}', '', 'x'.repeat(MESSAGE_BYTES_MAX)]) await wa.write(bytes(s))
  assert.equal(new TextDecoder().decode(await rb.read()), '{"t":"heartbeat"}')
  assert.equal((await rb.read()).byteLength, 0)
  assert.equal((await rb.read()).byteLength, MESSAGE_BYTES_MAX)
})

test('an endless length prefix is refused after the bytes the limit needs (MessageTooLargeError)', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  a.send(new Uint8Array(1000).fill(0xff))
  const t0 = performance.now()
  await assert.rejects(rb.read({ signal: AbortSignal.timeout(5000) }), { name: 'MessageTooLargeError' })
  assert.ok(performance.now() - t0 < 1000, 'refused at once, not at the deadline')
})

test('a prefix over the limit is refused before its data arrives', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  a.send(Uint8Array.from(varintPrefix(MESSAGE_BYTES_MAX + 1)))
  await assert.rejects(rb.read({ signal: AbortSignal.timeout(5000) }), { name: 'MessageTooLargeError' })
})

test('more unread bytes than a framed stream may buffer reset it (MessageTooLargeError)', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  // While the reader is busy elsewhere (a handler at work), the sender goes on writing.
  const chunk = 8192
  for (let sent = 0; sent <= bufferBytesMax(MESSAGE_BYTES_MAX); sent += chunk) a.send(new Uint8Array(chunk).fill(0x7f))
  await new Promise(resolve => setTimeout(resolve, 200))
  await assert.rejects(rb.read({ signal: AbortSignal.timeout(5000) }), { name: 'MessageTooLargeError' })
  assert.equal(b.status, 'aborted')
})

test('the read deadline ends a frame that trickles in', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  a.send(Uint8Array.from(varintPrefix(100)))
  const timer = setInterval(() => { a.send(bytes('x')) }, 20)
  try {
    await assert.rejects(rb.read({ signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' })
  } finally {
    clearInterval(timer)
  }
})

test('a stream closed mid-frame is InvalidMessageError caused by UnexpectedEOFError', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  a.send(Uint8Array.from([...varintPrefix(10), ...bytes('abc')]))
  await a.close()
  const err = await rb.read({ signal: AbortSignal.timeout(5000) }).then(() => null, (e: unknown) => e) as Error
  assert.equal(err.name, 'InvalidMessageError')
  assert.equal((err.cause as Error).name, 'UnexpectedEOFError')
})

test('buffered() counts the bytes received past the frames read: what a request brought along', async () => {
  const [a, b] = await streamPair()
  const rb = framed(b)
  assert.equal(rb.buffered(), 0)
  // One frame and 5 bytes more in one send.
  a.send(Uint8Array.from([...varintPrefix(2), 0x7b, 0x7d, 1, 2, 3, 4, 5]))
  assert.equal(new TextDecoder().decode(await rb.read()), '{}')
  assert.equal(rb.buffered(), 5)
})
