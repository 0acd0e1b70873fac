/** The libp2p node every patchday process runs: TCP, Noise, yamux and nothing else. */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { PrivateKey } from '@libp2p/interface'
import { CONNECTION_MANAGER, CONNECTION_MONITOR, STREAM_WINDOW_BYTES } from './constants.ts'
import { libp2pLogger } from './libp2p-logger.ts'
import { nodeNoiseCrypto } from './noise-crypto.ts'
import { bufferBytesMax } from './protocol/codec.ts'
import { MESSAGE_BYTES_MAX } from './protocol/messages.ts'
import type { TransportGuard } from './transport-guard.ts'
import type { TransportLimits } from './transport-limits.ts'

export interface NodeInit {
  privateKey: PrivateKey
  listenIp: string
  /** Address others dial (IPv4; `auto` is resolved by parseConfig); empty = listenIp. */
  announceIp?: string
  port: number
  /**
   * The transport guard and its limits (every patchday process has one); without
   * it the node runs with libp2p's limits as node/constants.ts sets them (test attackers).
   */
  guard?: { guard: TransportGuard, limits: TransportLimits }
}

/** libp2p's own caps sit above the guard's, so that the guard's bind first and are counted (libp2p refuses silently). */
function connectionManager (limits: TransportLimits | undefined): Record<string, number> {
  if (limits === undefined) return { ...CONNECTION_MANAGER }
  return {
    ...CONNECTION_MANAGER,
    maxConnections: limits.connsMax + limits.handshakesMax,
    maxIncomingPendingConnections: 2 * limits.handshakesMax,
    inboundUpgradeTimeout: limits.handshakeTimeoutMs
  }
}

/** Per connection: streams at the muxer; per stream: unread bytes (a few frames) and the receive window. */
function muxer (limits: TransportLimits | undefined): ReturnType<typeof yamux> {
  if (limits === undefined) return yamux()
  return yamux({
    maxInboundStreams: limits.streamsPerConnMax,
    maxOutboundStreams: limits.streamsPerConnMax,
    streamOptions: { maxReadBufferLength: bufferBytesMax(MESSAGE_BYTES_MAX), maxStreamWindowSize: STREAM_WINDOW_BYTES }
  })
}

export async function createNode (init: NodeInit): Promise<Libp2p> {
  const announce = init.announceIp !== undefined && init.announceIp !== '' ? [`/ip4/${init.announceIp}/tcp/${init.port}`] : []
  // Outbound connections leave from our own 127.x address, so that a supernode
  // sees each peer as a distinct source (the TCP type does not declare localAddress).
  // `/dns4/<host>/tcp/<port>` needs no resolver here: libp2p resolves only /dnsaddr/
  // itself and hands /dns4/ to the TCP transport, whose net.connect looks the name
  // up with the system resolver (/etc/hosts, a container network's DNS). family 4
  // makes that lookup IPv4 only, as /dns4/ says (every patchday node is IPv4 only).
  const dialOpts = { family: 4, ...(init.listenIp !== '0.0.0.0' ? { localAddress: init.listenIp } : {}) }
  const logger = libp2pLogger()
  const limits = init.guard?.limits
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    ...(logger !== undefined ? { logger } : {}),
    addresses: { listen: [`/ip4/${init.listenIp}/tcp/${init.port}`], announce },
    transports: [tcp({ dialOpts: dialOpts as Record<string, unknown> })],
    connectionEncrypters: [noise({ crypto: nodeNoiseCrypto })],
    streamMuxers: [muxer(limits)],
    ...(init.guard !== undefined ? { connectionGater: init.guard.guard.gater() } : {}),
    connectionManager: connectionManager(limits),
    connectionMonitor: { ...CONNECTION_MONITOR }
  })
  // The guard watches the node before the first socket can arrive.
  init.guard?.guard.attach(node)
  await node.start()
  return node
}

/** The multiaddr others should dial, with /p2p/: the announce address when there is one (boot events, supernode lists). */
export function ownAddr (node: Libp2p, init: NodeInit): string {
  const ip = init.announceIp !== undefined && init.announceIp !== '' ? init.announceIp : init.listenIp
  return `/ip4/${ip}/tcp/${init.port}/p2p/${node.peerId.toString()}`
}
