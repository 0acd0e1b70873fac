/**
 * When a connection last carried a patchday exchange (real ms), for the idle
 * sweep of node/transport-guard.ts: a connection with no open stream and no
 * exchange for `connIdleTimeoutMs` is closed. rpc.ts marks every request and
 * every served stream; a session's heartbeat stream stays open, so its
 * connection is never idle. Keyed weakly: a closed connection's entry goes with it.
 */
import type { Connection } from '@libp2p/interface'

const lastActive = new WeakMap<Connection, number>()

export function markActive (conn: Connection, nowMs = Date.now()): void {
  lastActive.set(conn, nowMs)
}

/** The last exchange on `conn`, or when it opened if it never carried one. */
export function lastActiveMs (conn: Connection): number {
  return lastActive.get(conn) ?? conn.timeline.open
}
