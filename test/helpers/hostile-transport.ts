/**
 * Attackers for test/integration/hostile-transport.test.ts: raw TCP sockets that
 * never start a handshake, streams that send an endless length prefix or more
 * bytes than anyone reads, streams left open after their answer, and libp2p
 * nodes with fresh identities. Loopback only.
 */
import { connect, type Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { createNode } from '../../node/libp2p.ts'

const DIAL_TIMEOUT_MS = 10_000

/** `count` TCP sockets from `fromIp` to `to` that send nothing; `closed` counts the ones the server closed. */
export async function silentSockets (count: number, fromIp: string, to: { ip: string, port: number }): Promise<{ sockets: Socket[], closed: () => number, destroy: () => void }> {
  let closed = 0
  const sockets = await Promise.all(Array.from({ length: count }, async () => await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: to.ip, port: to.port, localAddress: fromIp })
    s.once('connect', () => { resolve(s) })
    s.once('error', reject)
  })))
  for (const s of sockets) {
    s.on('error', () => { /* a reset by the server is the expected outcome */ })
    s.once('close', () => { closed++ })
  }
  return { sockets, closed: () => closed, destroy: () => { for (const s of sockets) s.destroy() } }
}

export async function dial (node: Libp2p, addr: string, force = false): Promise<Connection> {
  return await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS), force })
}

/**
 * `count` new connections of `node` to `addr`, one after another (libp2p joins
 * parallel dials of one address into one): the ones accepted, and how many failed.
 */
export async function dialMany (node: Libp2p, addr: string, count: number): Promise<{ conns: Connection[], failed: number }> {
  const conns: Connection[] = []
  let failed = 0
  for (let i = 0; i < count; i++) {
    try {
      conns.push(await dial(node, addr, true))
    } catch (err) {
      // Refused: what the server is expected to do past its limits.
      void err
      failed++
    }
  }
  return { conns, failed }
}

/** Wait for a stream's 'drain' (or its end) when send() asked for it; false when the stream is over. */
async function sendAll (stream: Stream, bytes: Uint8Array): Promise<boolean> {
  if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false
  try {
    if (!stream.send(bytes)) {
      await new Promise<void>(resolve => {
        const done = (): void => { stream.removeEventListener('drain', done); stream.removeEventListener('close', done); resolve() }
        stream.addEventListener('drain', done)
        stream.addEventListener('close', done)
      })
    }
  } catch (err) {
    if ((err as Error).name === 'StreamStateError') return false
    throw err
  }
  return stream.status === 'open'
}

/**
 * Send `chunk` on a new stream every `everyMs`, slowly enough that no buffer
 * fills, until the server resets the stream or `maxMs` passes: how long the
 * server took to refuse it (real ms), or null when it never did.
 */
export async function trickle (conn: Connection, protocol: string, chunk: Uint8Array, everyMs: number, maxMs: number): Promise<number | null> {
  const stream = await conn.newStream(protocol, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  const t0 = performance.now()
  try {
    while (performance.now() - t0 < maxMs) {
      if (!await sendAll(stream, chunk)) return Math.round(performance.now() - t0)
      await new Promise(resolve => setTimeout(resolve, everyMs))
    }
    return null
  } finally {
    if (stream.status === 'open') stream.abort(new Error('attack over'))
  }
}

/** A libp2p node with a new identity on `ip`:`port` (several may share an IP, each on its own port). */
export async function freshNode (ip: string, port: number): Promise<Libp2p> {
  return await createNode({ privateKey: await generateKeyPair('Ed25519'), listenIp: ip, port })
}

/** Poll `fn` until it is true or `timeoutMs` passes; the last value is returned either way. */
export async function eventually (fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return true
    if (Date.now() >= until) return false
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
