/**
 * libp2p settings, chosen deliberately: the connection manager's defaults would
 * otherwise decide a login storm by accident (5 new inbound connections per
 * source address per second, 10 pending handshakes, a ping every 10 s on every
 * connection). patchday's emulated limits (supernode slots and request budgets,
 * the login server's rate and queue) must be what binds; these are set well
 * above them so that they only protect the host. See docs/model.md.
 */
export const CONNECTION_MANAGER = {
  /** Far above any supernode's slots; a bound on file descriptors, not an emulated limit (connsMax sets it when the guard runs). */
  maxConnections: 4096,
  /**
   * Disables libp2p's per-source-address rate limit: a login flood is hundreds of
   * connections per second, the experiment and not an attack. The transport guard
   * caps concurrent handshakes and connections per source instead (node/transport-guard.ts).
   */
  inboundConnectionThreshold: 1_000_000,
  /** Handshakes in progress; above the login server's queue so that the queue decides (handshakesMax sets it when the guard runs). */
  maxIncomingPendingConnections: 512,
  /** Outer bounds; patchday's own timeouts (attach, login, heartbeat) are shorter. */
  dialTimeout: 60_000,
  inboundUpgradeTimeout: 60_000,
  maxDialQueueLength: 1000
} as const

/**
 * yamux's receive window never grows past the spec's initial 256 KiB (its default
 * lets it grow to 16 MiB per stream): no patchday frame is larger than 16 KiB.
 */
export const STREAM_WINDOW_BYTES = 256 * 1024

/** Heartbeats are patchday's liveness check; libp2p's own ping monitor would double it. */
export const CONNECTION_MONITOR = { enabled: false } as const

/** Real ms a graceful shutdown may take before the process exits anyway. */
export const SHUTDOWN_GRACE_MS = 3000
/** Real ms a server waits for a request on a new stream. */
export const REQUEST_READ_TIMEOUT_MS = 10_000
/** Longest a login request held by the 'timeout' overflow mode is kept before it is reset (real ms). */
export const LOGIN_HOLD_MAX_MS = 120_000
