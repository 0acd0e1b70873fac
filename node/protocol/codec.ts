/**
 * Length-prefixed JSON frames with a size limit and schema validation.
 * Every failure is a named error: InvalidMessageError (not JSON, wrong shape,
 * truncated) or MessageTooLargeError (over the limit, a length prefix longer
 * than the limit needs, more unread bytes than a stream may hold).
 *
 * The frame reader is ours, not `lpStream` of @libp2p/utils 7: that one reads a
 * varint prefix one byte at a time and checks its length only once the varint
 * ends, so an endless prefix (0xff 0xff ...) is read forever, each byte kept in a
 * growing list, without ever awaiting the read deadline (docs/model.md). Here the
 * prefix is refused once it has more bytes than MESSAGE_BYTES_MAX needs, the read
 * deadline is checked on every byte, and the bytes a stream may buffer unread are
 * bounded (`byteStream`'s default is 4 MiB per stream).
 */
import { byteStream, type ByteStream } from '@libp2p/utils'
import type { Stream, AbortOptions } from '@libp2p/interface'
import type * as z from 'zod/mini'
import { InvalidMessageError, MessageTooLargeError } from '../contract/errors.ts'
import { describeIssue } from '../contract/schema-issue.ts'
import { MESSAGE_BYTES_MAX } from './messages.ts'
import { prefixBytesMax, varintPrefix } from './varint.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Unread bytes a framed stream may hold, in frames of the largest size: one being read, one early. */
export const FRAMES_BUFFERED_MAX = 2

/** A stream read and written as length-prefixed frames. */
export interface Framed {
  /** The next frame's payload (InvalidMessageError / MessageTooLargeError on bad input). */
  read: (options?: AbortOptions) => Promise<Uint8Array>
  write: (payload: Uint8Array, options?: AbortOptions) => Promise<void>
  /** Bytes received but not yet read as frames. */
  buffered: () => number
}

/** Bytes a framed stream buffers at most before it is reset: whole frames with their prefixes. */
export function bufferBytesMax (maxBytes: number): number {
  return FRAMES_BUFFERED_MAX * (maxBytes + prefixBytesMax(maxBytes))
}

export function framed (stream: Stream, maxBytes = MESSAGE_BYTES_MAX): Framed {
  const bytes = byteStream(stream, { maxBufferSize: bufferBytesMax(maxBytes) })
  return {
    read: async (options) => await readFrame(bytes, maxBytes, options),
    write: async (payload, options) => { await bytes.write(Uint8Array.from([...varintPrefix(payload.byteLength), ...payload]), options) },
    // byteStream keeps what it received past the frames read in `readBuffer`, which its type does not declare (test/unit/frame-reader.test.ts checks it).
    buffered: () => (bytes as unknown as { readBuffer?: { byteLength: number } }).readBuffer?.byteLength ?? 0
  }
}

/** Upstream errors of byteStream, by name, as ours. The cause stays attached (rpc.ts tells a close between frames from bad input by it). */
function translate (err: unknown): unknown {
  const e = err as Error
  if (e.name === 'StreamBufferError') return new MessageTooLargeError(e.message, { cause: err })
  if (e.name === 'UnexpectedEOFError') return new InvalidMessageError(e.message, { cause: err })
  return err
}

async function readByte (bytes: ByteStream<Stream>, options?: AbortOptions): Promise<number> {
  // byteStream awaits the signal only while it waits for bytes: a sender that
  // keeps the buffer full would never see the deadline without this check.
  options?.signal?.throwIfAborted()
  const b = await bytes.read({ ...options, bytes: 1 })
  return b.get(0)
}

async function readFrame (bytes: ByteStream<Stream>, maxBytes: number, options?: AbortOptions): Promise<Uint8Array> {
  const prefixMax = prefixBytesMax(maxBytes)
  let length = 0
  try {
    for (let i = 0; ; i++) {
      if (i === prefixMax) throw new MessageTooLargeError(`length prefix longer than ${prefixMax} bytes`)
      const b = await readByte(bytes, options)
      length += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) break
    }
    if (length > maxBytes) throw new MessageTooLargeError(`frame of ${length} bytes exceeds ${maxBytes}`)
    if (length === 0) return new Uint8Array(0)
    options?.signal?.throwIfAborted()
    return (await bytes.read({ ...options, bytes: length })).subarray()
  } catch (err) {
    throw translate(err)
  }
}

export function encodeMessage (msg: unknown, maxBytes = MESSAGE_BYTES_MAX): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(msg))
  if (bytes.byteLength > maxBytes) throw new MessageTooLargeError(`message of ${bytes.byteLength} bytes exceeds ${maxBytes}`)
  return bytes
}

/** Decode and validate one frame's bytes. */
export function decodeMessage<S extends z.ZodMiniType> (bytes: Uint8Array, schema: S): z.infer<S> {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new InvalidMessageError(`not JSON: ${(err as Error).message}`)
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new InvalidMessageError(`wrong shape: ${describeIssue(parsed.error)}`)
  return parsed.data
}

/** Read one frame; `onBytes` is told its size (for the signalling counters). */
export async function readMessage<S extends z.ZodMiniType> (lp: Framed, schema: S, options?: AbortOptions, onBytes?: (n: number) => void): Promise<z.infer<S>> {
  const frame = await lp.read(options)
  onBytes?.(frame.byteLength)
  return decodeMessage(frame, schema)
}

export async function writeMessage (lp: Framed, msg: unknown, options?: AbortOptions): Promise<number> {
  const bytes = encodeMessage(msg)
  await lp.write(bytes, options)
  return bytes.byteLength
}
