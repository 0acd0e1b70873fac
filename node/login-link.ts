/**
 * A client's connection to the login server, kept between login attempts: each
 * attempt is one stream on it (one request, which the server sees and queues
 * as before), not a TCP connect, a Noise handshake and yamux afresh. In the
 * stuck state of skype-2007 a retry loop of fresh handshakes saturated the lab
 * host, a cost the real login servers paid, not the clients' PCs.
 *
 * A connection that is no longer open (the server restarted or closed it as
 * idle, the transport guard closed ours) is dialled anew; the client decides
 * after each attempt whether to keep it (node/login-reuse.ts). One login
 * attempt at a time (a peer's session or its supernode login, never both).
 */
import type { Libp2p } from 'libp2p'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { dialCounted, openStream } from './rpc.ts'
import type { Stats } from './stats.ts'

/** A held connection that could not open a stream: dropped, and the attempt dials afresh. */
export class StaleLoginConnectionError extends Error {
  override name = 'StaleLoginConnectionError'
}

export class LoginLink {
  private readonly node: Libp2p
  private readonly addr: string
  private readonly stats: Stats
  private conn: Connection | null = null

  constructor (node: Libp2p, addr: string, stats: Stats) {
    this.node = node
    this.addr = addr
    this.stats = stats
  }

  /** The held connection, when there is one and it is open (for tests and logs). */
  get held (): Connection | null { return this.conn?.status === 'open' ? this.conn : null }

  /** The held connection if it is open, else a fresh dial: only real dials are counted. */
  private async connection (signal: AbortSignal): Promise<{ conn: Connection, fresh: boolean }> {
    const held = this.held
    if (held !== null) return { conn: held, fresh: false }
    this.conn = null
    // force: libp2p would otherwise hand back a connection it still lists as open; we dial only when ours is unusable.
    const conn = await dialCounted(this.node, multiaddr(this.addr), this.stats, { signal, force: true })
    this.conn = conn
    return { conn, fresh: true }
  }

  /**
   * A stream for one login request, and the connection it is on. When the held
   * connection cannot open one (the server closed it as this attempt began), it
   * is dropped and one fresh dial is made, under the same signal: the request
   * had not been sent, so the server still sees one request per attempt.
   */
  async open (protocol: string, signal: AbortSignal): Promise<{ conn: Connection, stream: Stream }> {
    const first = await this.connection(signal)
    try {
      return { conn: first.conn, stream: await openStream(first.conn, protocol, this.stats, signal) }
    } catch (err) {
      if (first.fresh || signal.aborted) throw err
      this.conn = null
      first.conn.abort(new StaleLoginConnectionError(`held login connection failed to open a stream: ${(err as Error).name}`))
    }
    const { conn } = await this.connection(signal)
    return { conn, stream: await openStream(conn, protocol, this.stats, signal) }
  }

  /** Let the connection go (closed, aborted if closing fails); the next attempt dials. */
  async drop (): Promise<void> {
    const conn = this.conn
    this.conn = null
    if (conn !== null) await conn.close().catch((err: unknown) => { conn.abort(err as Error) })
  }
}
