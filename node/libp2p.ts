/** The libp2p node every patchday process runs: TCP, Noise, yamux and nothing else. */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { PrivateKey } from '@libp2p/interface'
import { CONNECTION_MANAGER, CONNECTION_MONITOR } from './constants.ts'
import { libp2pLogger } from './libp2p-logger.ts'
import { nodeNoiseCrypto } from './noise-crypto.ts'

export interface NodeInit {
  privateKey: PrivateKey
  listenIp: string
  /** Address others dial (IPv4; `auto` is resolved by parseConfig); empty = listenIp. */
  announceIp?: string
  port: number
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
  return await createLibp2p({
    privateKey: init.privateKey,
    ...(logger !== undefined ? { logger } : {}),
    addresses: { listen: [`/ip4/${init.listenIp}/tcp/${init.port}`], announce },
    transports: [tcp({ dialOpts: dialOpts as Record<string, unknown> })],
    connectionEncrypters: [noise({ crypto: nodeNoiseCrypto })],
    streamMuxers: [yamux()],
    connectionManager: { ...CONNECTION_MANAGER },
    connectionMonitor: { ...CONNECTION_MONITOR }
  })
}

/** The multiaddr others should dial, with /p2p/: the announce address when there is one (boot events, supernode lists). */
export function ownAddr (node: Libp2p, init: NodeInit): string {
  const ip = init.announceIp !== undefined && init.announceIp !== '' ? init.announceIp : init.listenIp
  return `/ip4/${ip}/tcp/${init.port}/p2p/${node.peerId.toString()}`
}
