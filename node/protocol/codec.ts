/**
 * Length-prefixed JSON frames with a size limit and schema validation.
 * Every failure is a named error: InvalidMessageError (not JSON, wrong shape,
 * truncated) or MessageTooLargeError (over the limit).
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream, AbortOptions } from '@libp2p/interface'
import type * as z from 'zod/mini'
import { InvalidMessageError, MessageTooLargeError } from '../contract/errors.ts'
import { describeIssue } from '../contract/schema-issue.ts'
import { MESSAGE_BYTES_MAX } from './messages.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export type Framed = LengthPrefixedStream<Stream>

export function framed (stream: Stream, maxBytes = MESSAGE_BYTES_MAX): Framed {
  return lpStream(stream, { maxDataLength: maxBytes })
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
  let frame
  try {
    frame = await lp.read(options)
  } catch (err) {
    const n = (err as Error).name
    if (n === 'InvalidDataLengthError' || n === 'InvalidDataLengthLengthError') throw new MessageTooLargeError((err as Error).message)
    // The cause stays attached: on a long-lived stream, the end of input between frames is a close, not bad input.
    if (n === 'InvalidMessageLengthError' || n === 'UnexpectedEOFError') throw new InvalidMessageError((err as Error).message, { cause: err })
    throw err
  }
  onBytes?.(frame.byteLength)
  return decodeMessage(frame.subarray(), schema)
}

export async function writeMessage (lp: Framed, msg: unknown, options?: AbortOptions): Promise<number> {
  const bytes = encodeMessage(msg)
  await lp.write(bytes, options)
  return bytes.byteLength
}
