/**
 * Loopback addresses of the local runtime: every process binds its own 127.x
 * address, because libp2p limits inbound connections per source address and a
 * supernode must see each peer as a distinct source.
 */
import { UsageError } from '../errors.ts'
import type { Endpoint, EndpointRequest } from './runtime.ts'

export const PEERS_ADDRESSED_MAX = 5000
export const RESERVE_ADDRESSED_MAX = 64
export const LOGIN_IP = '127.1.0.1'
export const LOGIN_PORT = 4000
export const PEER_PORT = 4001

/** Dedicated supernode i (1-based): its own loopback range, apart from the peers'. */
export function reserveIp (i: number): string {
  if (!Number.isInteger(i) || i < 1 || i > RESERVE_ADDRESSED_MAX) throw new UsageError(`reserve index ${i} out of range 1..${RESERVE_ADDRESSED_MAX}`)
  return `127.4.0.${i + 1}`
}

/** Peer i (1-based) gets its own loopback address. */
export function peerIp (i: number): string {
  if (!Number.isInteger(i) || i < 1 || i > PEERS_ADDRESSED_MAX) throw new UsageError(`peer index ${i} out of range 1..${PEERS_ADDRESSED_MAX}`)
  return `127.2.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`
}

export function localEndpoint (p: EndpointRequest): Endpoint {
  const ip = p.group === 'login' ? LOGIN_IP : p.group === 'peer' ? peerIp(p.index) : reserveIp(p.index)
  return { listenHost: ip, dialHost: ip, port: p.group === 'login' ? LOGIN_PORT : PEER_PORT }
}
