/**
 * One request, one response, on a fresh stream: the shape of every patchday
 * exchange. Counts messages for the signalling statistics, and turns a peer's
 * misbehaviour into named errors for the caller to log as events.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type * as z from 'zod/mini'
import { framed, readMessage, writeMessage } from './protocol/codec.ts'
import { InvalidMessageError, LateDataError, MessageTooLargeError } from './contract/errors.ts'
import type { Stats } from './stats.ts'
import type { EventLog } from './log.ts'
import { REQUEST_READ_TIMEOUT_MS } from './constants.ts'
import { markActive } from './conn-activity.ts'
import { reportOffence } from './transport-guard.ts'
import { multiaddrPeerId } from './contract/addrs.ts'

/**
 * Dial a peer, counting the attempt as the statistics see it: the peer named by
 * the address (its /p2p/ id) is contacted whether or not the dial works, as a
 * probe to a dead host counted as a contact in the 2007 measurements (Rossi,
 * Mellia, Meo) that peers contacted per client is compared with; and the dial
 * is counted as ok or failed.
 */
export async function dialCounted (node: { dial: (addr: Multiaddr, options: { signal: AbortSignal, force?: boolean }) => Promise<Connection> }, addr: Multiaddr, stats: Stats, options: { signal: AbortSignal, force?: boolean }): Promise<Connection> {
  const peer = multiaddrPeerId(addr)
  if (peer !== undefined) stats.contact(peer)
  let conn: Connection
  try {
    conn = await node.dial(addr, options)
  } catch (err) {
    stats.dialsFailed++
    throw err
  }
  stats.dialsOk++
  return conn
}

export async function request<S extends z.ZodMiniType> (conn: Connection, protocol: string, msg: unknown, schema: S, stats: Stats, signal: AbortSignal): Promise<z.infer<S>> {
  const stream = await openStream(conn, protocol, stats, signal)
  return await exchange(conn, stream, msg, schema, stats, signal)
}

/**
 * The first half of `request`: a fresh stream for one request. Nothing has been
 * sent when it fails (a caller may try another connection without the remote
 * having seen the request); when it returns, the remote has agreed to the protocol.
 */
export async function openStream (conn: Connection, protocol: string, stats: Stats, signal: AbortSignal): Promise<Stream> {
  stats.contact(conn.remotePeer.toString())
  markActive(conn)
  return await conn.newStream(protocol, { signal })
}

/** The second half of `request`: send, read the response, close the stream; on any failure (a timeout too) the stream is reset, never the connection. */
export async function exchange<S extends z.ZodMiniType> (conn: Connection, stream: Stream, msg: unknown, schema: S, stats: Stats, signal: AbortSignal): Promise<z.infer<S>> {
  try {
    const lp = framed(stream)
    stats.sent(await writeMessage(lp, msg, { signal }))
    const res = await readMessage(lp, schema, { signal }, n => { stats.recv(n) })
    await stream.close({ signal }).catch(() => { stream.abort(new Error('close failed')) })
    markActive(conn)
    return res
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/** A server stream that failed: misbehaviour is a `msg.invalid` event and an offence towards a ban, anything else a debug line; the stream is reset. */
function streamFailed (protocol: string, conn: Connection, stream: Stream, log: EventLog, err: unknown, what: string): void {
  if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError || err instanceof LateDataError) {
    log.event('msg.invalid', { protocol, from: conn.remotePeer.toString(), error: err.name })
    reportOffence(conn)
  } else {
    log.debug({ protocol, from: conn.remotePeer.toString(), err: (err as Error).name }, what)
  }
  stream.abort(err instanceof Error ? err : new Error(String(err)))
}

/**
 * After the answer of a one-request stream, call `onLate` at the first byte more
 * (or at once if `buffered` bytes came with the request). yamux's `closeRead`
 * sends nothing and goes on granting window to data it then drops, so a remote
 * could push bytes through Noise for as long as it kept the stream open (attack 2
 * of the bench: 512 KiB a stream, 113 MB/s decrypted at a supernode). A reset
 * stops that: frames for a stream that is gone get no window. What the remote
 * had been granted already (yamux's initial 256 KiB) still arrives; the caller
 * counts the stream as an offence, and the transport guard bans a peer that
 * keeps doing it (node/misbehaviour.ts).
 */
export function refuseLateData (stream: Stream, buffered: number, onLate: () => void): void {
  if (buffered > 0) {
    onLate()
    return
  }
  const late = (evt: { data: { byteLength: number } }): void => {
    if (evt.data.byteLength === 0) return
    stream.removeEventListener('message', late)
    onLate()
  }
  stream.addEventListener('message', late)
}

/** The input ended (no further frame) after the remote closed its write side. */
function endedByRemote (stream: Stream, err: unknown): boolean {
  return err instanceof InvalidMessageError && (err.cause as Error | undefined)?.name === 'UnexpectedEOFError' && stream.remoteWriteStatus === 'closed'
}

/**
 * A long-lived stream of requests and responses (heartbeats): each request is
 * read with `idleMs` as its deadline; the stream ends when the remote closes it,
 * goes quiet for longer, or sends something malformed (logged as `msg.invalid`).
 */
export function serveStream<S extends z.ZodMiniType> (protocol: string, schema: S, stats: Stats, log: EventLog, idleMs: () => number, handler: Handler<S>) {
  return async (stream: Stream, conn: Connection): Promise<void> => {
    stats.contact(conn.remotePeer.toString())
    markActive(conn)
    const lp = framed(stream)
    try {
      for (;;) {
        const req = await readMessage(lp, schema, { signal: AbortSignal.timeout(idleMs()) }, n => { stats.recv(n) })
        stats.contact(conn.remotePeer.toString())
        markActive(conn)
        const res = await handler(req, conn, stream)
        if (res !== undefined) stats.sent(await writeMessage(lp, res))
      }
    } catch (err) {
      // The remote closing its side while we wait for the next request is how such a
      // stream ends (a frame cut short by that close included: a client that died mid-write).
      if (endedByRemote(stream, err)) {
        log.debug({ protocol, from: conn.remotePeer.toString() }, 'stream closed by the remote')
        await stream.close().catch(() => { stream.abort(new Error('close failed')) })
        return
      }
      markActive(conn)
      streamFailed(protocol, conn, stream, log, err, 'stream ended')
    }
  }
}

/** A protocol handler body: gets the validated request, returns the response (or undefined to send none). */
export type Handler<S extends z.ZodMiniType> = (req: z.infer<S>, conn: Connection, stream: Stream) => Promise<unknown>

/**
 * Wrap a handler: read and validate one request with a deadline, answer, close.
 * A malformed or oversized request is logged as `msg.invalid` and the stream is
 * reset; the process goes on.
 */
export function serve<S extends z.ZodMiniType> (protocol: string, schema: S, stats: Stats, log: EventLog, handler: Handler<S>) {
  return async (stream: Stream, conn: Connection): Promise<void> => {
    const signal = AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS)
    stats.contact(conn.remotePeer.toString())
    markActive(conn)
    try {
      const lp = framed(stream)
      const req = await readMessage(lp, schema, { signal }, n => { stats.recv(n) })
      const res = await handler(req, conn, stream)
      if (res !== undefined) stats.sent(await writeMessage(lp, res))
      markActive(conn)
      // Answered: the remote may only close its side now. A byte more resets the stream
      // (refuseLateData); our side is closed. A remote that never closes its side is
      // reset by the transport guard after `streamLingerRealMs` (node/transport-guard.ts).
      refuseLateData(stream, lp.buffered(), () => { streamFailed(protocol, conn, stream, log, new LateDataError(`bytes after the ${protocol} request`), 'late data') })
      await stream.close().catch(() => { stream.abort(new Error('close failed')) })
    } catch (err) {
      streamFailed(protocol, conn, stream, log, err, 'request failed')
    }
  }
}
